"""The `campaign` command as users run it: a subprocess, embedded or against the real Redis and PostgreSQL."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import uuid
import zipfile
from pathlib import Path
from urllib.parse import urlparse

import pytest
from sqlalchemy.orm import Session, sessionmaker

from context import CampaignContext
from tests.cli.embedded_db import embedded_query, server_running
from tests.worker_fixtures import ROOT, WorkerProcess, worker_env

UUID_RE = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def campaign(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("CAMPAIGN_")}
    full_env = {**base, "PYTHONPATH": str(ROOT), "COLUMNS": "200", **(env or {})}
    cmd = [sys.executable, "-m", "cli", *args]
    return subprocess.run(cmd, cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout, check=False)


def one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    return lines[0]


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, subprocess.CompletedProcess[str]]:
    cwd = tmp_path_factory.mktemp("demo")
    proc = campaign("demo", cwd=cwd)
    match = re.search(rf"run id: ({UUID_RE})", proc.stdout)
    assert proc.returncode == 0 and match, proc.stdout + proc.stderr
    return cwd, match.group(1), proc


def test_the_demo_runs_a_whole_campaign_embedded_and_builds_a_playable_game_zip(
    demo_dir: tuple[Path, str, subprocess.CompletedProcess[str]],
) -> None:
    cwd, _, proc = demo_dir
    assert proc.stdout.count("executed") == 12
    bundle_uri = re.search(r"game bundle: (\S+)", proc.stdout)
    assert bundle_uri
    bundle = Path(urlparse(bundle_uri.group(1)).path)
    assert bundle.is_relative_to(cwd / "var" / "artifacts")
    with zipfile.ZipFile(io.BytesIO(bundle.read_bytes())) as zf:
        names = set(zf.namelist())
        html = zf.read("index.html").decode()
    assert {"index.html", "intro.png", "bgm.wav", "sfx.wav", "config.json"} <= names
    assert "<script" in html and "Spin" in html  # the plan's button labels made it into the page
    assert (cwd / "var" / "postgres" / "PG_VERSION").exists()  # a real PostgreSQL held the run
    assert not server_running(cwd)  # and the command stopped it on its way out


def test_show_json_prints_exactly_the_stored_context(
    demo_dir: tuple[Path, str, subprocess.CompletedProcess[str]],
) -> None:
    cwd, run_id, _ = demo_dir
    proc = campaign("show", run_id, "--json", cwd=cwd)

    assert proc.returncode == 0, proc.stderr
    [[stored]] = embedded_query(cwd, f"SELECT context FROM app.runs WHERE id = '{uuid.UUID(run_id)}'")
    assert json.loads(proc.stdout) == stored
    CampaignContext.model_validate_json(proc.stdout)


def test_an_embedded_update_reuses_unchanged_steps_and_show_says_why(
    demo_dir: tuple[Path, str, subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    cwd, run_id, _ = demo_dir
    payload = tmp_path / "bgm.json"
    payload.write_text(json.dumps({"steps": {"bgm": {"mood": "tense"}}}))

    proc = campaign("update", "--from", run_id, "--payload", str(payload), cwd=cwd)

    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("executed") == 5 and proc.stdout.count("reused") == 7
    assert "inputs unchanged" in proc.stdout


@pytest.mark.parametrize(
    ("args", "message", "code"),
    [
        (["run", "missing.json"], "payload file missing.json does not exist", 2),
        (["run", "bad.json"], "is not valid JSON", 2),
        (["run", "list.json"], "must hold a JSON object", 2),
        (["run", "nul.json"], "payload: Value error, payload must not contain the NUL character", 2),
        (["run", "empty.json", "--workflow", "w" * 256], "workflow_name: String should have at most 255 characters", 2),
        (["show", "0b7c0f27-53a4-4f57-9b0e-6d1e8b3c7c11"], "not found", 3),
        (["update", "--from", "0b7c0f27-53a4-4f57-9b0e-6d1e8b3c7c11"], "not found", 3),
        (["resume", "0b7c0f27-53a4-4f57-9b0e-6d1e8b3c7c11"], "not found", 3),
    ],
)
def test_bad_input_gets_a_one_line_error_and_a_non_zero_exit(
    args: list[str], message: str, code: int, tmp_path: Path
) -> None:
    (tmp_path / "bad.json").write_text("{not json")
    (tmp_path / "list.json").write_text("[1, 2]")
    (tmp_path / "empty.json").write_text("{}")
    (tmp_path / "nul.json").write_text(json.dumps({"brief": "a\u0000b"}))

    proc = campaign(*args, cwd=tmp_path)

    assert proc.returncode == code
    assert message in one_line_error(proc)


def test_an_unknown_step_in_an_update_is_refused_before_anything_runs(
    demo_dir: tuple[Path, str, subprocess.CompletedProcess[str]],
) -> None:
    cwd, run_id, _ = demo_dir
    before = embedded_query(cwd, "SELECT count(*) FROM app.runs")

    proc = campaign("update", "--from", run_id, "--steps", "bgm,sparkles", cwd=cwd)

    assert proc.returncode == 2
    assert "--steps: unknown step 'sparkles'" in one_line_error(proc)
    assert embedded_query(cwd, "SELECT count(*) FROM app.runs") == before


def test_an_unreachable_broker_is_one_line_and_exit_4(tmp_path: Path) -> None:
    (tmp_path / "p.json").write_text("{}")
    proc = campaign("run", "p.json", cwd=tmp_path, env={"CAMPAIGN_BROKER_URL": "redis://127.0.0.1:1/0"}, timeout=60)

    assert proc.returncode == 4
    assert "broker unreachable" in one_line_error(proc)


def test_an_unreachable_database_is_one_line_and_exit_4(tmp_path: Path) -> None:
    env = {"CAMPAIGN_DATABASE_URL": "postgresql://postgres@127.0.0.1:1/nowhere"}
    proc = campaign("show", str(uuid.uuid4()), cwd=tmp_path, env=env, timeout=60)

    assert proc.returncode == 4
    assert "database unreachable" in one_line_error(proc)


def test_run_wait_on_the_real_broker_completes_and_show_reports_each_step(
    pg_url: str,
    redis_url: str,
    artifact_root: Path,
    worker: WorkerProcess,
    pg_sessions: sessionmaker[Session],
    tmp_path: Path,
) -> None:
    env = worker_env(pg_url, redis_url, artifact_root, CAMPAIGN_TENANT=str(uuid.uuid4()))
    (tmp_path / "p.json").write_text(json.dumps({"brief": "Find the hidden gem"}))

    proc = campaign("run", "p.json", "--wait", cwd=tmp_path, env=env)

    assert proc.returncode == 0, proc.stderr
    run_id = re.search(rf"run id: ({UUID_RE})", proc.stdout)
    assert run_id
    shown = campaign("show", run_id.group(1), cwd=tmp_path, env=env)
    assert shown.returncode == 0 and shown.stdout.count("executed") == 12 and "completed" in shown.stdout
    other_tenant = campaign("show", run_id.group(1), cwd=tmp_path, env={**env, "CAMPAIGN_TENANT": str(uuid.uuid4())})
    assert other_tenant.returncode == 3
