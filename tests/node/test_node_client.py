"""A Node client (celery-node, ajv, pg) starts and follows a run against a real worker, Redis and PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from celery import Celery

from tests.node.conftest import NODE_DIR
from tests.services import RedisServer, empty_redis
from tests.worker_fixtures import ROOT, WorkerProcess, client_app, worker_env

NODE_DB = 10  # a database of the session's own redis-server that no other fixture uses


@pytest.fixture
def events_worker(
    session_redis: RedisServer, app_pg_url: str, artifact_root: Path, tmp_path: Path
) -> Iterator[tuple[str, str]]:
    """A worker publishing run events to a queue of its own, on a Redis db of its own."""
    url = session_redis.url_for(NODE_DB)
    empty_redis(url)
    queue = f"campaign-events-{uuid.uuid4().hex[:8]}"
    client: Celery = client_app(url)
    proc = WorkerProcess(worker_env(app_pg_url, url, artifact_root, CAMPAIGN_EVENTS_QUEUE=queue), tmp_path / "w.log")
    proc.start(client)
    yield url, queue
    proc.stop()
    client.close()


def test_a_node_client_starts_a_run_gets_a_structured_refusal_and_follows_the_run_to_completion(
    node_modules: Path, events_worker: tuple[str, str], app_pg_url: str
) -> None:
    redis_url, queue = events_worker
    env = {
        **os.environ,
        "CAMPAIGN_BROKER_URL": redis_url,
        "CAMPAIGN_EVENTS_QUEUE": queue,
        # The RLS-bound role, as the TypeScript service would connect: it must name its tenant to see a row.
        "CAMPAIGN_PG_URL": app_pg_url.replace("postgresql+psycopg://", "postgresql://"),
        "CAMPAIGN_SCHEMA_DIR": str(ROOT / "docs" / "schema"),
    }
    proc = subprocess.run(
        ["node", "test/follow-a-run.mjs"], cwd=NODE_DIR, env=env, capture_output=True, text=True, timeout=300,
        check=False,
    )  # fmt: skip

    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["ok"] is True
    assert summary["refusal"]["code"] == "invalid_request"
    assert summary["events"][:2] == ["queued", "running"] and summary["events"][-1] == "completed"
    assert "step_finished" in summary["events"]
    assert summary["notified"] == ["queued", "running", "completed"]
    print(proc.stdout.strip().splitlines()[-1])
