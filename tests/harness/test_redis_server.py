"""The suite's own redis-servers: two suites on one host never share one, even when they race for a port."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.services import PortTakenError, RedisServer


def test_a_port_another_server_holds_is_refused_and_started_takes_another(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = RedisServer.started(tmp_path / "a")
    try:
        squatter = RedisServer(first.port, tmp_path / "b")
        with pytest.raises(PortTakenError):
            squatter.start()
        assert squatter.proc is not None and squatter.proc.poll() is not None  # it did not stay behind
        second = RedisServer.started(tmp_path / "b")
        try:
            assert second.port != first.port
        finally:
            second.kill()
    finally:
        first.kill()


def test_a_server_that_answers_with_another_process_id_is_not_taken_for_ours(tmp_path: Path) -> None:
    """The race the process id closes: our process still alive (not yet failed to bind) while another answers."""
    other = RedisServer.started(tmp_path)
    try:
        ours = RedisServer(other.port, tmp_path)
        ours.proc = subprocess.Popen(["sleep", "60"])  # stands for our server before it notices the port is taken
        with pytest.raises(PortTakenError, match="another redis-server"):
            ours._up()
        assert ours.proc.wait(timeout=10) is not None  # and it is stopped, not left behind
    finally:
        other.kill()
