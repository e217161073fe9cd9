"""Step policy on real workers: worker pools by queue, soft and hard time limits, poison messages, quality."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from celery import Celery
from sqlalchemy.orm import Session, sessionmaker

from context.runs import RunRepository, RunStep
from pipeline.policy import VIDEO_STEPS
from pipeline.steps import DEFAULT_GRAPH
from tests.services import wait_for
from tests.worker_fixtures import WorkerProcess, client_app, fast_policy, wait_for_run, worker_env

Workers = Callable[..., WorkerProcess]


@pytest.fixture
def workers(app_pg_url: str, fault_redis_url: str, tmp_path: Path) -> Iterator[tuple[Workers, Celery]]:
    """Start workers of this test's own (on a Redis db apart from the shared worker's); all stopped at the end."""
    client = client_app(fault_redis_url)
    started: list[WorkerProcess] = []

    def start(*, name: str | None = None, queues: str | None = None, concurrency: int = 2, **env: str) -> WorkerProcess:
        proc = WorkerProcess(worker_env(app_pg_url, fault_redis_url, tmp_path / "artifacts", **env),
                             tmp_path / f"{name or len(started)}.log", concurrency, name, queues=queues)  # fmt: skip
        proc.start(client)
        started.append(proc)
        return proc

    yield start, client
    for proc in started:
        proc.stop()
    client.close()


def _start(client: Celery, tenant: uuid.UUID, payload: dict[str, Any], **fields: Any) -> uuid.UUID:
    run_id = uuid.uuid4()
    body = {"tenantId": str(tenant), "runId": str(run_id), "payload": payload, **fields}
    client.send_task("campaign.start_run", args=[body])
    return run_id


def test_video_steps_run_only_on_the_media_worker_and_the_rest_on_the_campaign_worker(
    workers: tuple[Workers, Celery], pg_sessions: sessionmaker[Session]
) -> None:
    start, client = workers
    media = start(name=f"media-{uuid.uuid4().hex[:4]}", queues="media")
    general = start(name=f"general-{uuid.uuid4().hex[:4]}", queues="campaign,celery")
    tenant = uuid.uuid4()

    run, steps = wait_for_run(pg_sessions, _start(client, tenant, {"brief": "two pools"}), tenant)

    assert run.status == "completed", run.error
    for step_id, row in steps.items():
        expected_queue, worker = ("media", media) if step_id in VIDEO_STEPS else ("campaign", general)
        assert row.queue == expected_queue, step_id
        assert row.hostname is not None and row.hostname.startswith(f"{worker.name}@"), (step_id, row.hostname)
        assert row.started_at is not None and row.finished_at is not None and row.finished_at >= row.started_at


def test_an_intake_worker_creates_and_admits_a_run_while_every_step_slot_runs_a_long_step(
    workers: tuple[Workers, Celery], pg_sessions: sessionmaker[Session]
) -> None:
    """The compose layout: steps on their own pool, start messages on an intake worker of their own."""
    start, client = workers
    start(name=f"steps-{uuid.uuid4().hex[:4]}", queues="campaign,media", concurrency=1)
    start(name=f"intake-{uuid.uuid4().hex[:4]}", queues="celery", concurrency=1)
    busy_tenant, new_tenant = uuid.uuid4(), uuid.uuid4()
    noop_steps: dict[str, Any] = {step_id: {"noop": True} for step_id, _ in DEFAULT_GRAPH}
    busy = _start(client, busy_tenant, {"steps": {**noop_steps, "plan": {"sleep_s": 6}}})
    wait_for(lambda: _step(pg_sessions, busy, busy_tenant, "plan") is not None, timeout_s=30, what="the long plan")

    new = _start(client, new_tenant, {"brief": "arrives while the only step slot is busy"})
    # Admitted (pending: its first step is sent, and waits for the slot), not left unseen in the broker.
    wait_for(lambda: _status(pg_sessions, new, new_tenant) == "pending", timeout_s=4, what="the new run's admission")

    plan = _step(pg_sessions, busy, busy_tenant, "plan")
    assert plan is not None and plan.finished_at is None  # admitted while the long step still held the slot
    for run_id, tenant in ((busy, busy_tenant), (new, new_tenant)):
        run, _ = wait_for_run(pg_sessions, run_id, tenant)
        assert run.status == "completed", run.error


def _step(sessions: sessionmaker[Session], run_id: uuid.UUID, tenant: uuid.UUID, step_id: str) -> RunStep | None:
    with sessions() as s:
        steps = RunRepository(s).steps(run_id, tenant_id=tenant)
        return next((step for step in steps if step.step_id == step_id and step.started_at is not None), None)


def _status(sessions: sessionmaker[Session], run_id: uuid.UUID, tenant: uuid.UUID) -> str | None:
    with sessions() as s:
        run = RunRepository(s).get(run_id, tenant_id=tenant)
        return None if run is None else run.status


def test_a_step_past_its_soft_limit_fails_the_run_with_the_limit_as_reason(
    workers: tuple[Workers, Celery], pg_sessions: sessionmaker[Session]
) -> None:
    start, client = workers
    start(CAMPAIGN_STEP_POLICY=fast_policy(20, 25, bgm={"soft_time_limit_s": 1, "time_limit_s": 5}))
    tenant = uuid.uuid4()

    run, steps = wait_for_run(pg_sessions, _start(client, tenant, {"steps": {"bgm": {"sleep_s": 3}}}), tenant)

    assert run.status == "failed"
    assert (run.failed_step, run.error) == ("bgm", "exceeded 1 s (soft time limit)")
    assert steps["bgm"].outcome == "failed"


def test_a_step_that_ignores_its_soft_limit_is_killed_at_the_hard_limit_and_its_slot_is_freed(
    workers: tuple[Workers, Celery], pg_sessions: sessionmaker[Session]
) -> None:
    start, client = workers
    policy = fast_policy(20, 25, bgm={"soft_time_limit_s": 1, "time_limit_s": 2})
    start(concurrency=1, CAMPAIGN_STEP_POLICY=policy)  # one slot: the next run needs it back
    tenant = uuid.uuid4()

    stuck = _start(client, tenant, {"steps": {"bgm": {"stubborn": True, "sleep_s": 60}}})
    run, _ = wait_for_run(pg_sessions, stuck, tenant, timeout_s=60)
    after, _ = wait_for_run(pg_sessions, _start(client, tenant, {"brief": "after"}), tenant, timeout_s=60)

    assert run.status == "failed" and run.failed_step == "bgm"
    assert run.error == "exceeded 2 s (hard time limit); its worker process was replaced"
    assert after.status == "completed", after.error


def test_a_step_that_kills_its_worker_every_time_fails_the_run_after_the_redelivery_cap(
    workers: tuple[Workers, Celery], pg_sessions: sessionmaker[Session]
) -> None:
    start, client = workers
    start(CAMPAIGN_MAX_REDELIVERIES="1")  # retries 2 (worker_env) + 1 redelivery: the 5th start gives up
    tenant = uuid.uuid4()

    run, steps = wait_for_run(pg_sessions, _start(client, tenant, {"steps": {"sfx": {"kill_worker": True}}}),
                              tenant, timeout_s=120)  # fmt: skip

    assert run.status == "failed" and run.failed_step == "sfx"
    assert run.error == "step sfx failed: started 5 times without finishing (is it killing its worker?)"
    assert steps["sfx"].attempts == 5


def test_an_artifact_that_fails_its_quality_check_fails_the_run_naming_the_check(
    workers: tuple[Workers, Celery], pg_sessions: sessionmaker[Session]
) -> None:
    start, client = workers
    start()
    tenant = uuid.uuid4()

    run, _ = wait_for_run(pg_sessions, _start(client, tenant, {"steps": {"sfx": {"bad_format": True}}}), tenant)

    assert run.status == "failed" and run.failed_step == "sfx"
    assert run.error is not None and "quality check failed: format: expected wav, found None" in run.error


def test_a_worker_refuses_to_start_when_the_visibility_timeout_is_below_a_hard_limit(
    app_pg_url: str, fault_redis_url: str, tmp_path: Path
) -> None:
    env = worker_env(app_pg_url, fault_redis_url, tmp_path, CAMPAIGN_VISIBILITY_TIMEOUT_S="60",
                     CAMPAIGN_STEP_POLICY=fast_policy(20, 25, intro_video={"time_limit_s": 90}))  # fmt: skip
    proc = WorkerProcess(env, tmp_path / "w.log")

    with pytest.raises(RuntimeError, match="worker exited with 2") as e:
        proc.start(client_app(fault_redis_url))

    assert "CAMPAIGN_VISIBILITY_TIMEOUT_S=60 is shorter than the longest hard time limit (90 s)" in str(e.value)


def test_an_unknown_step_in_the_step_policy_stops_the_worker_with_one_line(
    app_pg_url: str, fault_redis_url: str, tmp_path: Path
) -> None:
    env = worker_env(app_pg_url, fault_redis_url, tmp_path, CAMPAIGN_STEP_POLICY='{"intro_vidoe": {"queue": "gpu"}}')
    proc = WorkerProcess(env, tmp_path / "w.log")

    with pytest.raises(RuntimeError, match="worker exited with 2") as e:
        proc.start(client_app(fault_redis_url))

    assert "campaign worker cannot start: CAMPAIGN_STEP_POLICY: unknown step(s): intro_vidoe" in str(e.value)
