"""Bumping a step's version (CAMPAIGN_STEP_VERSIONS) makes an update re-run that step, and only what changed."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import redis
from sqlalchemy.orm import Session, sessionmaker

from tests.services import RedisServer, empty_redis
from tests.worker_fixtures import WorkerProcess, client_app, wait_for_run, worker_env


def test_a_bumped_step_version_re_runs_that_step_in_an_update(
    app_pg_url: str, pg_sessions: sessionmaker[Session], session_redis: RedisServer, tmp_path: Path
) -> None:
    VERSIONS_REDIS_URL = session_redis.url_for(2)
    empty_redis(VERSIONS_REDIS_URL)
    client = client_app(VERSIONS_REDIS_URL)
    tenant = uuid.uuid4()
    base_env = worker_env(app_pg_url, VERSIONS_REDIS_URL, tmp_path / "artifacts")
    first = WorkerProcess(base_env, tmp_path / "v1.log")
    first.start(client)
    try:
        base = uuid.uuid4()
        client.send_task("campaign.start_run", args=[{"tenantId": str(tenant), "runId": str(base)}])
        assert wait_for_run(pg_sessions, base, tenant)[0].status == "completed"
    finally:
        first.stop()

    bumped = WorkerProcess({**base_env, "CAMPAIGN_STEP_VERSIONS": json.dumps({"bgm": "2"})}, tmp_path / "v2.log")
    bumped.start(client)
    try:
        update = uuid.uuid4()
        body = {"tenantId": str(tenant), "runId": str(update), "baseRunId": str(base)}
        client.send_task("campaign.start_run", args=[body])
        run, steps = wait_for_run(pg_sessions, update, tenant)
    finally:
        bumped.stop()
        redis.Redis.from_url(VERSIONS_REDIS_URL).flushdb()

    assert run.status == "completed", run.error
    executed = {sid for sid, s in steps.items() if s.outcome == "executed"}
    assert executed == {"bgm"}  # same generator, same bytes: its dependents are reused (early cutoff)
    assert steps["bgm"].reason == "inputs changed (params, version or an input artifact)"
