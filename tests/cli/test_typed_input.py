"""Every problem in a payload file: one line each, naming its JSON path, exit 2, and nothing started."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from context.migrations import upgrade
from tests.cli.embedded_db import embedded_query
from tests.cli.test_cli import UUID_RE, campaign, one_line_error
from tests.services import create_database, drop_database, sqlalchemy_url
from tests.worker_fixtures import ROOT, WorkerProcess, worker_env


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
    assert embedded_query(tmp_path, "SELECT count(*) FROM app.runs") == [[0]]  # refused before anything was written


@pytest.fixture
def scratch_db() -> Iterator[str]:
    name = create_database("campaign_typed")
    yield sqlalchemy_url(name)
    drop_database(name)


def test_an_unmigrated_database_is_one_line_saying_to_upgrade(scratch_db: str, tmp_path: Path) -> None:
    proc = campaign("stale", cwd=tmp_path, env={"CAMPAIGN_DATABASE_URL": scratch_db})

    assert proc.returncode == 4
    assert "has no campaign schema yet: run `campaign db upgrade`" in one_line_error(proc)


def test_an_older_database_names_both_revisions_and_a_newer_one_says_to_upgrade_the_code(
    scratch_db: str, tmp_path: Path
) -> None:
    upgrade(scratch_db, "0005_step_progress_function")
    env = {"CAMPAIGN_DATABASE_URL": scratch_db}
    older = campaign("stale", cwd=tmp_path, env=env)
    assert older.returncode == 4
    assert "is at revision 0005_step_progress_function" in one_line_error(older)
    assert "run `campaign db upgrade`" in one_line_error(older)

    with psycopg.connect(scratch_db.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0999_from_the_future'")
    newer = campaign("stale", cwd=tmp_path, env=env)
    assert newer.returncode == 4
    assert "0999_from_the_future, newer than this campaign-pipeline knows" in one_line_error(newer)
    migrate = campaign("db", "upgrade", cwd=tmp_path, env=env)
    assert migrate.returncode == 2
    assert "migrated by a newer campaign-pipeline" in one_line_error(migrate)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"CAMPAIGN_DATABASE_URL": "mysql://db/x"}, "CAMPAIGN_DATABASE_URL: 'mysql' is not a supported database"),
        ({"CAMPAIGN_BROKER_URL": "amqp://guest@rabbit//"}, "CAMPAIGN_BROKER_URL: the broker must be Redis"),
        ({"CAMPAIGN_MAX_ARTIFACTS": "lots"}, "CAMPAIGN_MAX_ARTIFACTS: Input should be a valid integer"),
        ({"CAMPAIGN_TENANT": "me"}, "CAMPAIGN_TENANT: Input should be a valid UUID"),
        ({"CAMPAIGN_DATABASE_URL": "postgresql://u@db:port/x"}, "CAMPAIGN_DATABASE_URL: not a valid URL"),
        ({"CAMPAIGN_GENERATORS": "bgm=mine"}, "CAMPAIGN_GENERATORS: not valid JSON"),
    ],
    ids=["db-scheme", "broker-scheme", "integer", "uuid", "db-port", "json"],
)
def test_a_bad_setting_is_one_line_naming_the_variable(env: dict[str, str], message: str, tmp_path: Path) -> None:
    proc = campaign("stale", cwd=tmp_path, env=env)

    assert proc.returncode == 2
    assert message in one_line_error(proc)


def test_help_answers_without_importing_the_engine(tmp_path: Path) -> None:
    started = time.monotonic()
    proc = campaign("--help", cwd=tmp_path)
    elapsed = time.monotonic() - started
    probe = subprocess.run(
        [sys.executable, "-c", "import sys, cli.main; print(sorted(m for m in sys.modules if m.split('.')[0] in "
         "('sqlalchemy', 'celery', 'pydantic', 'alembic', 'pipeline', 'tasks')))"],
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, check=True,
    )  # fmt: skip

    assert proc.returncode == 0 and "schema" in proc.stdout
    assert probe.stdout.strip() == "[]", probe.stdout
    print(f"campaign --help: {elapsed:.2f}s")  # measured, not asserted: the host is shared


def test_piped_output_keeps_whole_ids_however_narrow_the_terminal_says_it_is(tmp_path: Path) -> None:
    proc = campaign("demo", cwd=tmp_path, env={"COLUMNS": "40"})

    assert proc.returncode == 0, proc.stderr
    ids = re.findall(UUID_RE, proc.stdout)
    assert len(set(ids)) >= 13  # the run id and one artifact per step, none cut
    assert "…" not in proc.stdout


def test_wait_that_gives_up_says_the_run_goes_on_and_exits_6(
    pg_url: str, redis_url: str, artifact_root: Path, worker: WorkerProcess, tmp_path: Path
) -> None:
    env = worker_env(pg_url, redis_url, artifact_root, CAMPAIGN_TENANT=str(uuid.uuid4()))
    (tmp_path / "p.json").write_text(json.dumps({"steps": {"plan": {"sleep_s": 4}}}))

    proc = campaign("run", "p.json", "--wait", "--timeout", "1", cwd=tmp_path, env=env)

    assert proc.returncode == 6
    line = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
    assert len(line) == 1 and re.search(r"run \S+ is still (running|queued) after \d+s of waiting", line[0])
