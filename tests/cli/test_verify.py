"""`campaign verify RUN`: recomputes input hashes from the stored context and reads every artifact back."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.cli.embedded_db import embedded_query
from tests.cli.test_cli import UUID_RE, campaign


@pytest.fixture
def demo_copy(tmp_path: Path) -> tuple[Path, str]:
    """A fresh embedded demo run this test may tamper with."""
    proc = campaign("demo", cwd=tmp_path)
    match = re.search(rf"run id: ({UUID_RE})", proc.stdout)
    assert proc.returncode == 0 and match, proc.stdout + proc.stderr
    return tmp_path, match.group(1)


def _context(cwd: Path, run_id: str) -> dict[str, object]:
    [[doc]] = embedded_query(cwd, f"SELECT context FROM app.runs WHERE id = '{uuid.UUID(run_id)}'")
    return dict(doc)


def _store_context(cwd: Path, run_id: str, ctx: dict[str, object]) -> None:
    doc = json.dumps(ctx).replace("'", "''")
    embedded_query(cwd, f"UPDATE app.runs SET context = '{doc}'::jsonb WHERE id = '{uuid.UUID(run_id)}' RETURNING 1")


def test_verify_of_a_consistent_run_exits_0_then_lists_each_problem_and_exits_1(demo_copy: tuple[Path, str]) -> None:
    cwd, run_id = demo_copy
    clean = campaign("verify", run_id, cwd=cwd)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "consistent (12 artifacts, 12 refs)" in clean.stderr

    ctx = _context(cwd, run_id)
    refs, artifacts = ctx["refs"], ctx["artifacts"]
    assert isinstance(refs, dict) and isinstance(artifacts, dict)
    sfx = artifacts[refs["sfxArtifactId"]]
    # Another sfx than the one audio_manifest was built from: the manifest's recorded input hash no longer matches.
    sfx["hash"] = artifacts[refs["bgmArtifactId"]]["hash"]
    sfx["uri"] = artifacts[refs["bgmArtifactId"]]["uri"]
    _store_context(cwd, run_id, ctx)
    Path(urlparse(artifacts[refs["planArtifactId"]]["uri"]).path).write_bytes(b"{}")  # corrupt stored bytes

    broken = campaign("verify", run_id, cwd=cwd)

    assert broken.returncode == 1, broken.stdout + broken.stderr
    lines = broken.stdout.strip().splitlines()
    assert any(line.startswith("step audio_manifest: recorded input hash") for line in lines), lines
    assert any(line.startswith("step campaign_manifest: recorded input hash") for line in lines), lines
    assert any(line.startswith("artifact ") and "(plan)" in line for line in lines), lines
    assert "problem(s)" in broken.stderr


def test_verify_of_an_unknown_run_is_one_line_and_exit_3(tmp_path: Path) -> None:
    proc = campaign("verify", str(uuid.uuid4()), cwd=tmp_path)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
