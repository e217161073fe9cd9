"""Load: 200 runs enqueued at once against one worker with 2 processes; every run completes, exactly once."""

from __future__ import annotations

import time
import uuid

import redis
from celery import Celery
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from context import CampaignContext
from pipeline.steps import DEFAULT_GRAPH
from tests.worker_fixtures import WorkerProcess

RUNS = 200
NOOP_PAYLOAD = {"steps": {step_id: {"noop": True} for step_id, _ in DEFAULT_GRAPH}}


def test_two_hundred_runs_at_once_all_complete_with_valid_contexts_none_lost_or_duplicated(
    celery_client: Celery, worker: WorkerProcess, pg_sessions: sessionmaker[Session], redis_url: str
) -> None:
    results_before = _stored_results(redis_url)
    tenant = uuid.uuid4()
    run_ids = [uuid.uuid4() for _ in range(RUNS)]
    for run_id in run_ids:
        body = {"tenantId": str(tenant), "runId": str(run_id), "payload": NOOP_PAYLOAD}
        celery_client.send_task("campaign.start_run", args=[body])

    deadline = time.monotonic() + 600
    pending = RUNS
    while pending and time.monotonic() < deadline:
        with pg_sessions() as s:
            query = text("SELECT count(*) FROM app.runs WHERE tenant_id = :t AND status IN ('completed', 'failed')")
            pending = RUNS - int(s.execute(query, {"t": tenant}).scalar_one())
        time.sleep(0.5)

    assert pending == 0, f"{pending} of {RUNS} runs did not finish within 600 s"
    with pg_sessions() as s:
        rows = s.execute(text("SELECT id, status, context FROM app.runs WHERE tenant_id = :t"), {"t": tenant}).all()
        step_rows = s.execute(
            text("SELECT count(*), max(attempts) FROM app.run_steps WHERE tenant_id = :t"), {"t": tenant}
        ).one()
    assert sorted(r.id for r in rows) == sorted(run_ids)  # none lost, none extra
    assert {r.status for r in rows} == {"completed"}
    for row in rows:
        ctx = CampaignContext.model_validate(row.context)
        assert ctx.run_id == str(row.id) and len(ctx.refs) == 12 and len(ctx.artifacts) == 12
    assert tuple(step_rows) == (RUNS * 12, 1)  # one row per step per run, each executed once
    # Bounded: Redis keeps the start task's small result per run (it expires), never one per step.
    assert _stored_results(redis_url) - results_before <= RUNS


def _stored_results(url: str) -> int:
    conn = redis.Redis.from_url(url)
    try:
        return sum(1 for _ in conn.scan_iter("celery-task-meta-*", count=1000))
    finally:
        conn.close()
