"""Cancel and fair share on real workers: a cancelled run stops and stays stopped; tenants share the workers."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from celery import Celery
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from context.runs import RunRepository
from pipeline.steps import DEFAULT_GRAPH
from tests.services import wait_for
from tests.worker_fixtures import WorkerProcess, client_app, wait_for_run, worker_env

NOOP = {"steps": {step_id: {"noop": True} for step_id, _ in DEFAULT_GRAPH}}


@pytest.fixture
def client(fault_redis_url: str) -> Iterator[Celery]:
    app = client_app(fault_redis_url)
    yield app
    app.close()


def _worker(
    app_pg_url: str, redis_url: str, tmp_path: Path, client: Celery, concurrency: int = 1, **env: str
) -> WorkerProcess:
    env_ = worker_env(app_pg_url, redis_url, tmp_path / "artifacts", **env)
    proc = WorkerProcess(env_, tmp_path / "w.log", concurrency)
    proc.start(client)
    return proc


def _start(client: Celery, tenant: uuid.UUID, payload: dict[str, Any], **fields: Any) -> uuid.UUID:
    run_id = uuid.uuid4()
    client.send_task("campaign.start_run", args=[{"tenantId": str(tenant), "runId": str(run_id), "payload": payload,
                                                  **fields}])  # fmt: skip
    return run_id


def _step_outcome(sessions: sessionmaker[Session], run_id: uuid.UUID, step: str) -> str | None:
    with sessions() as s:
        query = text("SELECT outcome FROM app.run_steps WHERE run_id = :r AND step_id = :s")
        return s.execute(query, {"r": run_id, "s": step}).scalar()


def test_cancelling_a_running_run_stops_its_step_and_nothing_is_written_afterwards(
    app_pg_url: str, fault_redis_url: str, client: Celery, pg_sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    worker = _worker(app_pg_url, fault_redis_url, tmp_path, client, concurrency=2)
    tenant = uuid.uuid4()
    try:
        run_id = _start(client, tenant, {"steps": {"intro_image": {"sleep_s": 120}}})
        wait_for(lambda: _step_outcome(pg_sessions, run_id, "intro_image") == "running", timeout_s=60,
                 what="intro_image to start")  # fmt: skip
        client.send_task("campaign.cancel_run", args=[str(run_id), str(tenant), "tester", "brief changed"]).get(30)
        cancelled, _ = wait_for_run(pg_sessions, run_id, tenant, timeout_s=10)
        with pg_sessions() as s:
            task_id = s.execute(text("SELECT task_id FROM app.run_steps WHERE run_id = :r AND step_id = 'intro_image'"),
                                {"r": run_id}).scalar_one()  # fmt: skip
        # The sleeping step is stopped (its pool process gets SIGTERM), not left to sleep its 120 s.
        wait_for(lambda: f"Terminating {task_id}" in worker.log_text(), timeout_s=30, what="the step to be terminated")
        after, _ = wait_for_run(pg_sessions, _start(client, tenant, {"brief": "next"}), tenant, timeout_s=60)
        with pg_sessions() as s:
            row = RunRepository(s).get(run_id, tenant_id=tenant)
        refused_again = client.send_task("campaign.cancel_run", args=[str(run_id), str(tenant)])
        with pytest.raises(Exception, match="is cancelled; only a queued or live run can be cancelled"):
            refused_again.get(timeout=30)
        update = client.send_task("campaign.start_run", args=[{"tenantId": str(tenant), "baseRunId": str(run_id)}])
        with pytest.raises(Exception, match="was cancelled; only a completed run can be updated"):
            update.get(timeout=30)
    finally:
        worker.stop()

    assert cancelled.status == "cancelled"
    assert cancelled.error == "cancelled by tester: brief changed"
    assert after.status == "completed", after.error
    assert row is not None and row.updated_at == cancelled.updated_at and row.context == cancelled.context
    assert "intro_image" not in {a.get("stepId") for a in (row.context or {}).get("artifacts", {}).values()}


def test_one_tenants_single_run_does_not_wait_behind_anothers_backlog(
    app_pg_url: str, fault_redis_url: str, client: Celery, pg_sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    proc = WorkerProcess(worker_env(app_pg_url, fault_redis_url, tmp_path / "artifacts",
                                    CAMPAIGN_TENANT_MAX_RUNNING="2"), tmp_path / "w.log", 2)  # fmt: skip
    proc.start(client)
    tenant_a, tenant_b = uuid.uuid4(), uuid.uuid4()
    try:
        for _ in range(200):
            _start(client, tenant_a, NOOP)
        b_run = _start(client, tenant_b, NOOP)
        b, _ = wait_for_run(pg_sessions, b_run, tenant_b, timeout_s=300)
        with pg_sessions() as s:
            a_done_before_b = s.execute(
                text("SELECT count(*) FROM app.runs WHERE tenant_id = :t AND finished_at < :f"),
                {"t": tenant_a, "f": b.finished_at},
            ).scalar_one()
            a_live = s.execute(
                text("SELECT max(n) FROM (SELECT count(*) AS n FROM app.runs WHERE tenant_id = :t "
                     "AND status IN ('pending', 'running')) c"), {"t": tenant_a}
            ).scalar_one()  # fmt: skip
            queued = s.execute(
                text("SELECT count(*) FROM app.runs WHERE tenant_id = :t AND status = 'queued'"), {"t": tenant_a}
            ).scalar_one()
    finally:
        proc.stop()
        with pg_sessions() as s, s.begin():  # leave no backlog for another test's sweeper to admit
            s.execute(text("UPDATE app.runs SET status = 'cancelled' WHERE tenant_id = :t "
                           "AND status IN ('queued', 'pending', 'running')"), {"t": tenant_a})  # fmt: skip

    assert b.status == "completed", b.error
    assert a_done_before_b < 20, f"B finished after {a_done_before_b} of A's runs"
    assert a_live <= 2  # the cap holds
    assert queued > 100  # A's backlog waits as queued, oldest first


def test_a_tenants_cap_holds_for_the_whole_of_its_runs_not_just_at_one_moment(
    app_pg_url: str, fault_redis_url: str, client: Celery, pg_sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    proc = WorkerProcess(worker_env(app_pg_url, fault_redis_url, tmp_path / "artifacts",
                                    CAMPAIGN_TENANT_MAX_RUNNING="2"), tmp_path / "w.log", 2)  # fmt: skip
    proc.start(client)
    tenant = uuid.uuid4()
    steps = {"steps": {step_id: {"noop": True, "sleep_s": 0.05} for step_id, _ in DEFAULT_GRAPH}}
    live_seen: list[int] = []

    def all_done() -> bool:
        with pg_sessions() as s:
            counts = dict(s.execute(text("SELECT status, count(*) FROM app.runs WHERE tenant_id = :t GROUP BY status"),
                                    {"t": tenant}).all())  # fmt: skip
        live_seen.append(counts.get("pending", 0) + counts.get("running", 0))
        return counts.get("completed", 0) == 8

    try:
        for _ in range(8):
            _start(client, tenant, steps)
        wait_for(all_done, timeout_s=8 * 12 * 0.05 * 2 + 90, interval_s=0.02, what="8 runs to complete")
    finally:
        proc.stop()

    assert max(live_seen) == 2  # sampled every 20 ms from the first start to the last completion
