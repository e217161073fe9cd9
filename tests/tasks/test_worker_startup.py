"""Worker start-up: the artifact-type registry is loaded once, and a bad file stops the worker with one line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.worker_fixtures import ROOT, worker_env


def test_a_worker_with_a_bad_artifact_type_file_stops_at_start_naming_the_file(
    app_pg_url: str, redis_url: str, tmp_path: Path
) -> None:
    bad = tmp_path / "artifact-types.json"
    bad.write_text('{"customTypes": [{"name": "bgm"}]}')  # clashes with a standard type
    (tmp_path / "artifact-types.schema.json").write_text((ROOT / "config" / "artifact-types.schema.json").read_text())
    env = worker_env(app_pg_url, redis_url, tmp_path / "artifacts", CAMPAIGN_ARTIFACT_TYPES=str(bad))

    cmd = [sys.executable, "-m", "celery", "-A", "tasks.app", "worker", "-c", "1", "--without-gossip"]
    proc = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)

    assert proc.returncode != 0
    assert f"campaign worker cannot start: artifact type config {bad}: custom type 'bgm' clashes" in proc.stderr
