"""The embedded default is a real PostgreSQL from a wheel: shared by concurrent `campaign` processes, stopped by the
last one, and a crashed one leaves nothing that blocks the next start."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.cli.embedded_db import embedded_query, server_running
from tests.cli.test_cli import campaign
from tests.services import wait_for
from tests.worker_fixtures import ROOT


def test_two_campaign_processes_share_one_embedded_server_and_the_last_one_stops_it(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAMPAIGN_")} | {"PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-m", "cli", "demo"], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]  # fmt: skip
    outputs = [p.communicate(timeout=300) for p in procs]

    assert [p.returncode for p in procs] == [0, 0], [err for _, err in outputs]
    assert embedded_query(tmp_path, "SELECT count(*) FROM app.runs WHERE status = 'completed'") == [[2]]
    assert not server_running(tmp_path)


def test_a_campaign_process_killed_mid_run_leaves_nothing_that_blocks_the_next(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAMPAIGN_")} | {"PYTHONPATH": str(ROOT)}
    victim = subprocess.Popen([sys.executable, "-m", "cli", "demo"], cwd=tmp_path, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    handles = tmp_path / "var" / "postgres" / ".handle_pids.json"
    wait_for(lambda: server_running(tmp_path) and handles.exists() and str(victim.pid) in handles.read_text(),
             timeout_s=120, what="the victim to hold the embedded server")  # fmt: skip
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=30)

    after = campaign("demo", cwd=tmp_path)

    assert after.returncode == 0, after.stderr
    assert not server_running(tmp_path)  # the dead process's handle did not keep the server up
