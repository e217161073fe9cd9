"""`campaign api` refuses, in one line, a configuration it cannot serve."""

from __future__ import annotations

from pathlib import Path

from tests.cli.test_cli import campaign, one_line_error


def test_campaign_api_needs_a_broker(tmp_path: Path) -> None:
    proc = campaign("api", "--port", "1", cwd=tmp_path)  # embedded settings: no broker

    assert proc.returncode == 2
    assert "the API needs a broker for its runs" in one_line_error(proc)
