"""Every problem in a payload file: one line each, naming its JSON path, exit 2, and nothing started."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.test_cli import campaign


def test_a_bad_payload_prints_one_line_per_problem_and_starts_nothing(tmp_path: Path) -> None:
    payload = {"brief": "x", "steps": {"bgm": {"tempo_bpm": "fast", "bpm": 3}, "sparkles": {}}}
    (tmp_path / "p.json").write_text(json.dumps(payload))

    proc = campaign("run", "p.json", cwd=tmp_path)

    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert lines == [
        "error: steps.bgm.tempo_bpm: Input should be a valid integer (got 'fast')",
        "error: steps.bgm.bpm: unknown param of step bgm; it takes: mood, tempo_bpm, seconds",
        lines[2],
    ]
    assert lines[2].startswith("error: steps.sparkles: unknown step; known steps: plan,")
    assert (
        not (tmp_path / "var" / "campaign.db").exists()
        or b"sparkles" not in (tmp_path / "var" / "campaign.db").read_bytes()
    )
