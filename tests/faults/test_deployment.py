"""A run fails only for its own reasons: what a real deployment meets, on real processes, as issue 23 set it up.

The database is created by and migrated as a managed PostgreSQL's admin role (CREATEROLE, no SUPERUSER, no
BYPASSRLS; the suite's `pg_url`), and the workers log in as it. Two workers, as compose runs them: `-c 2 --queues
celery,campaign -B` (intake, light steps and the sweeper) and `-c 1 --queues media` (the video steps).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from context.registry import ReferenceTypeRegistry
from context.runs import Run
from context.service import CampaignContextService
from pipeline.graph import StepGraph
from pipeline.launch import RunRequest, prepare_run
from pipeline.steps import DEFAULT_GRAPH, default_steps
from tests.faults.conftest import RedisServer
from tests.proxy import TcpProxy
from tests.services import wait_for
from tests.worker_fixtures import ROOT, WorkerProcess, client_app, worker_env

VIDEO_STEPS = ("intro_video", "outcome_win_video", "outcome_lose_video")
# Issue 23's settings, with the lease and sweep interval scaled down so that a test takes seconds, not minutes.
LEASE_S, SWEEP_S = 4, 1
BASE_ENV = {"CAMPAIGN_RUN_LEASE_S": str(LEASE_S), "CAMPAIGN_SWEEP_INTERVAL_S": str(SWEEP_S),
            "CAMPAIGN_STEP_MAX_RETRIES": "3", "CAMPAIGN_RETRY_BACKOFF_MAX_S": "1"}  # fmt: skip


class Deployment:
    """The two workers of issue 23's set-up, started and stopped by PID; `env` on top of BASE_ENV."""

    def __init__(self, db_url: str, redis_url: str, tmp: Path, **env: str) -> None:
        self.artifacts = tmp / "artifacts"
        self.env = worker_env(db_url, redis_url, self.artifacts, **{**BASE_ENV, **env})
        self.client = client_app(redis_url)
        self.tmp = tmp
        self.campaign = self._worker("campaign", concurrency=2, queues="celery,campaign", beat=True)
        self.media = self._worker("media", concurrency=1, queues="media")

    def _worker(self, name: str, **kw: Any) -> WorkerProcess:
        worker = WorkerProcess(self.env, self.tmp / f"{name}-{uuid.uuid4().hex[:4]}.log", **kw)
        worker.start(self.client)
        return worker

    def restart_campaign_worker(self) -> None:
        self.campaign = self._worker("campaign", concurrency=2, queues="celery,campaign", beat=True)

    def start(self, tenant: uuid.UUID, steps: dict[str, dict[str, Any]] | None = None, **fields: Any) -> uuid.UUID:
        run_id = uuid.uuid4()
        body = {"tenantId": str(tenant), "runId": str(run_id), "payload": {"steps": steps or {}}, **fields}
        self.client.send_task("campaign.start_run", args=[body])
        return run_id

    def stop(self) -> None:
        for worker in (self.campaign, self.media):
            if not worker.exited():
                worker.kill_hard()  # shutdown is not what these tests check
        self.client.close()

    def logs(self) -> str:
        return self.campaign.log_text() + self.media.log_text()


@pytest.fixture
def deployment_factory(app_pg_url: str, fault_redis_url: str, tmp_path: Path) -> Iterator[Any]:
    made: list[Deployment] = []

    def make(db_url: str | None = None, redis_url: str | None = None, **env: str) -> Deployment:
        made.append(Deployment(db_url or app_pg_url, redis_url or fault_redis_url, tmp_path, **env))
        return made[-1]

    yield make
    for deployment in made:
        deployment.stop()


def runs_of(sessions: sessionmaker[Session], run_ids: list[uuid.UUID]) -> list[Run]:
    with sessions() as s:
        return list(s.query(Run).filter(Run.id.in_(run_ids)))


def wait_until_ended(sessions: sessionmaker[Session], run_ids: list[uuid.UUID], timeout_s: float) -> list[Run]:
    ended: list[Run] = []

    def all_ended() -> bool:
        nonlocal ended
        ended = [r for r in runs_of(sessions, run_ids) if r.status in ("completed", "failed", "cancelled")]
        return len(ended) == len(run_ids)

    wait_for(all_ended, timeout_s=timeout_s, interval_s=0.25, what=f"{len(run_ids)} runs to end")
    return ended


def step_results(sessions: sessionmaker[Session], run_id: uuid.UUID) -> dict[str, str]:
    with sessions() as s:
        rows = s.execute(text("SELECT step_id, outcome FROM app.run_steps WHERE run_id = :r AND result IS NOT NULL"),
                         {"r": run_id})  # fmt: skip
        return {r.step_id: r.outcome for r in rows}


def _assert_all_completed_with_their_own_twelve_results(sessions: sessionmaker[Session], runs: list[Run]) -> None:
    assert [(r.id, r.status, r.error) for r in runs if r.status != "completed"] == []
    for run in runs:
        assert len(step_results(sessions, run.id)) == len(DEFAULT_GRAPH)
        assert len(run.context["refs"]) == len(DEFAULT_GRAPH)


def campaign_cli(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    full = {**{k: v for k, v in os.environ.items() if not k.startswith("CAMPAIGN_")}, **env, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "cli", *args], cwd=cwd, env=full, capture_output=True, text=True,
                          timeout=300, check=False)  # fmt: skip


def test_runs_waiting_behind_a_backlog_of_slow_steps_are_waiting_not_lost_and_gc_keeps_what_they_use(
    deployment_factory: Any, pg_sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    # 6 runs x 3 video steps x 1 s on the one media slot: the last video step waits ~18 s, several leases. With
    # CAMPAIGN_MAX_SWEEPS=1, a wait (or a long step) mistaken for a lost one would take the run over (epoch 2) and
    # a second time would fail it.
    deployment = deployment_factory(CAMPAIGN_MAX_SWEEPS="1")
    tenant = uuid.uuid4()
    slow = {step: {"sleep_s": 1.0} for step in VIDEO_STEPS}
    run_ids = [deployment.start(tenant, slow) for _ in range(6)]
    # And one step that runs for 2.5 leases: only its heartbeat holds its run meanwhile.
    run_ids.append(deployment.start(tenant, {"bgm": {"sleep_s": 2.5 * LEASE_S}}))

    runs = wait_until_ended(pg_sessions, run_ids, timeout_s=6 * 3 * 1.0 * 4 + 2.5 * LEASE_S + 60)

    _assert_all_completed_with_their_own_twelve_results(pg_sessions, runs)
    assert {r.epoch for r in runs} == {1}  # never taken over: waiting in a consumed queue is not a fault
    # gc as the managed admin role: the objects those runs reference are kept, so every run still verifies.
    env = {**deployment.env, "CAMPAIGN_BROKER_URL": ""}
    gc = campaign_cli("gc", "--older-than", "0", "--yes", env=env, cwd=tmp_path)
    assert gc.returncode == 0, gc.stderr
    assert "kept 0 referenced" not in gc.stderr
    for run in runs:
        verify = campaign_cli("verify", str(run.id), "--tenant", str(tenant), env=env, cwd=tmp_path)
        assert verify.returncode == 0, verify.stdout + verify.stderr


def test_a_killed_campaign_worker_is_replaced_and_its_runs_complete(
    deployment_factory: Any, pg_sessions: sessionmaker[Session]
) -> None:
    deployment = deployment_factory()
    tenant = uuid.uuid4()
    steps = {step: {"sleep_s": 1.0} for step, _ in DEFAULT_GRAPH if step not in VIDEO_STEPS}
    run_id = deployment.start(tenant, steps)
    wait_for(lambda: len(step_results(pg_sessions, run_id)) >= 2, timeout_s=60, what="two steps to be recorded")

    deployment.campaign.kill_hard()  # the only campaign worker (and its beat) SIGKILLed mid-step
    deployment.restart_campaign_worker()

    # The killed step's heartbeat stopped: one lease, then a sweep, then the rest of the run (12 steps of 1 s).
    [run] = wait_until_ended(pg_sessions, [run_id], timeout_s=LEASE_S + SWEEP_S + 12 * 1.0 * 3 + 60)
    _assert_all_completed_with_their_own_twelve_results(pg_sessions, [run])


def test_a_resume_starts_its_attempts_afresh_and_completes_once_the_service_is_back(
    deployment_factory: Any, pg_sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    deployment = deployment_factory()
    tenant, flag = uuid.uuid4(), tmp_path / "service-down"
    flag.touch()
    run_id = deployment.start(tenant, {"bgm": {"fail_while": str(flag)}})
    [run] = wait_until_ended(pg_sessions, [run_id], timeout_s=120)
    assert (run.status, run.failed_step) == ("failed", "bgm")
    assert "gave up after 3 retries" in (run.error or "")

    def resume() -> Run:
        deployment.client.send_task("campaign.resume_run", args=[str(run_id), str(tenant)]).get(timeout=60)
        wait_for(lambda: runs_of(pg_sessions, [run_id])[0].status != "failed", timeout_s=30, what="the resume")
        return wait_until_ended(pg_sessions, [run_id], timeout_s=120)[0]

    again = resume()  # still down: it fails again for the same reason, not "started 9 times"
    assert (again.status, again.failed_step) == ("failed", "bgm")
    assert "gave up after 3 retries" in (again.error or ""), again.error
    flag.unlink()
    done = resume()
    assert done.status == "completed", done.error
    _assert_all_completed_with_their_own_twelve_results(pg_sessions, [done])


def test_a_redis_lost_mid_run_and_back_empty_loses_no_run(
    deployment_factory: Any, pg_sessions: sessionmaker[Session], redis_server: RedisServer
) -> None:
    deployment = deployment_factory(redis_url=redis_server.url_for(0))
    tenant = uuid.uuid4()
    steps = {step: {"sleep_s": 0.5} for step, _ in DEFAULT_GRAPH}
    run_ids = [deployment.start(tenant, steps) for _ in range(8)]
    wait_for(lambda: sum(len(step_results(pg_sessions, r)) for r in run_ids) >= 8, timeout_s=60,
             what="runs in flight")  # fmt: skip

    redis_server.kill()  # SIGKILL: every queued message, and the incarnation key, are gone
    time.sleep(5)  # the outage itself (a scenario's length, not a wait for a condition)
    redis_server.start()

    # Workers reconnect; the next sweep sees the broker came back empty and resends what was lost.
    runs = wait_until_ended(pg_sessions, run_ids, timeout_s=8 * 12 * 0.5 + 120)
    _assert_all_completed_with_their_own_twelve_results(pg_sessions, runs)


def test_a_silent_database_is_an_outage_not_a_hang_and_runs_go_on_once_it_answers(
    deployment_factory: Any, app_pg_url: str, pg_sessions: sessionmaker[Session]
) -> None:
    proxy = TcpProxy(target_port=5432)
    proxy.start()
    statement_s = 5.0
    try:
        deployment = deployment_factory(
            db_url=app_pg_url.replace("@127.0.0.1:5432/", f"@127.0.0.1:{proxy.port}/"),
            CAMPAIGN_DB_STATEMENT_TIMEOUT_S=str(statement_s),
        )
        tenant = uuid.uuid4()
        steps = {step: {"sleep_s": 0.5} for step, _ in DEFAULT_GRAPH}
        run_ids = [deployment.start(tenant, steps) for _ in range(4)]
        wait_for(lambda: sum(len(step_results(pg_sessions, r)) for r in run_ids) >= 4, timeout_s=60,
                 what="runs in flight")  # fmt: skip

        proxy.blackhole()
        time.sleep(20)  # the outage itself (a scenario's length, not a wait for a condition)
        with pg_sessions() as s:
            back_at = s.execute(text("SELECT now()")).scalar_one()
        proxy.restore()

        # The bound: a connection gives up after the statement timeout + 10 s (context.db), then the step is
        # retried or swept; the first step recorded after the database is back comes within that and a sweep.
        bound_s = statement_s + 10 + SWEEP_S + LEASE_S

        def first_after_back() -> float | None:
            with pg_sessions() as s:
                first = s.execute(text("SELECT min(finished_at) FROM app.run_steps WHERE run_id = ANY(:ids) "
                                       "AND finished_at > :t AND result IS NOT NULL"),
                                  {"ids": run_ids, "t": back_at}).scalar()  # fmt: skip
            return None if first is None else (first - back_at).total_seconds()

        wait_for(lambda: first_after_back() is not None, timeout_s=bound_s + 30, what="a step after the outage")
        took = first_after_back()
        runs = wait_until_ended(pg_sessions, run_ids, timeout_s=4 * 12 * 0.5 + 120)
    finally:
        proxy.stop()

    assert took is not None and took <= bound_s, f"first step {took:.1f} s after the database came back"
    _assert_all_completed_with_their_own_twelve_results(pg_sessions, runs)


def test_many_runs_over_many_tenants_with_first_steps_waiting_behind_runs_in_progress_all_complete(
    deployment_factory: Any, pg_sessions: sessionmaker[Session]
) -> None:
    # 60 runs over 10 tenants (all admitted: 6 each under the cap of 10), 3 step slots, steps of 50 ms: new runs'
    # first steps wait at priority 9 behind runs in progress for many leases. CAMPAIGN_MAX_SWEEPS=1: a single wait
    # mistaken for a lost step shows as a takeover, a second as a failure.
    deployment = deployment_factory(CAMPAIGN_MAX_SWEEPS="1")
    steps = {step: {"noop": True, "sleep_s": 0.05} for step, _ in DEFAULT_GRAPH}
    tenants = [uuid.uuid4() for _ in range(10)]
    run_ids = [deployment.start(tenants[i % 10], steps) for i in range(60)]

    runs = wait_until_ended(pg_sessions, run_ids, timeout_s=60 * 12 * 0.05 + 120)

    _assert_all_completed_with_their_own_twelve_results(pg_sessions, runs)
    assert {r.epoch for r in runs} == {1}


def test_a_raw_non_json_message_on_each_queue_is_dead_lettered_and_the_workers_go_on(
    deployment_factory: Any, fault_redis_url: str, pg_sessions: sessionmaker[Session]
) -> None:
    deployment = deployment_factory()
    broker = redis.Redis.from_url(fault_redis_url)
    for queue in ("celery", "campaign", "media"):
        broker.lpush(queue, "not json {")
    broker.lpush("celery", json.dumps([1, 2, 3]))  # JSON, but no envelope
    wait_for(lambda: broker.llen("campaign:dead-letters") == 4, timeout_s=30, what="four dead letters")

    assert not deployment.campaign.exited() and not deployment.media.exited()
    run_id = deployment.start(uuid.uuid4())
    [run] = wait_until_ended(pg_sessions, [run_id], timeout_s=120)
    _assert_all_completed_with_their_own_twelve_results(pg_sessions, [run])
    letters = [json.loads(x) for x in broker.lrange("campaign:dead-letters", 0, -1)]
    assert sorted(x["queue"] for x in letters) == ["campaign", "celery", "celery", "media"]
    assert {x["message"] for x in letters} == {"not json {", "[1, 2, 3]"}


def test_a_start_naming_another_tenants_run_id_is_a_structured_refusal_revealing_nothing(
    deployment_factory: Any, pg_sessions: sessionmaker[Session]
) -> None:
    deployment = deployment_factory()
    owner, other = uuid.uuid4(), uuid.uuid4()
    run_id = deployment.start(owner, {"plan": {"title": "owner's secret title"}})
    wait_until_ended(pg_sessions, [run_id], timeout_s=120)

    result = deployment.client.send_task("campaign.start_run", args=[{"tenantId": str(other), "runId": str(run_id)}])
    with pytest.raises(Exception) as refused:
        result.get(timeout=60)
    refusal = refused.value.args[0]
    assert (refusal["code"], [e["path"] for e in refusal["errors"]]) == ("invalid_request", ["runId"])
    assert str(owner) not in json.dumps(refusal) and "secret" not in json.dumps(refusal)


def test_a_redelivered_step_whose_result_is_recorded_never_calls_its_generator_again(
    deployment_factory: Any, pg_sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    deployment = deployment_factory()
    tenant, calls = uuid.uuid4(), tmp_path / "calls"
    steps = {step: {"count_to": str(calls)} for step, _ in DEFAULT_GRAPH}
    steps["campaign_manifest"] = {"count_to": str(calls), "sleep_s": 3}  # keeps the run live meanwhile
    run_id = deployment.start(tenant, steps)
    wait_for(lambda: "bgm" in step_results(pg_sessions, run_id), timeout_s=60, what="bgm to be recorded")

    ids = {"run_id": str(run_id), "tenant_id": str(tenant), "epoch": 1}
    deployment.client.send_task("campaign.bgm", kwargs=ids, queue="campaign")  # a duplicate delivery, same epoch
    wait_for(lambda: "already recorded" in deployment.logs(), timeout_s=30, what="the duplicate to be handled")
    [run] = wait_until_ended(pg_sessions, [run_id], timeout_s=120)

    assert run.status == "completed", run.error
    paid = calls.read_text().split()
    assert sorted(paid) == sorted(step for step, _ in DEFAULT_GRAPH)  # each generator exactly once


def test_a_submitted_run_whose_start_message_was_lost_is_admitted_by_the_sweeper(
    deployment_factory: Any,
    owner_sessions: sessionmaker[Session],
    pg_sessions: sessionmaker[Session],
    registry: ReferenceTypeRegistry,
) -> None:
    deployment = deployment_factory()
    request = RunRequest(tenant_id=uuid.uuid4(), payload={"brief": "a start lost with Redis"})
    # What tasks.client.submit (the CLI, the API) does before sending the start: the row, queued. The message is
    # then lost (Redis died before a worker took it): nothing but the row is left.
    service = CampaignContextService(registry, sessions=owner_sessions)
    prepare_run(request, service=service, sessions=owner_sessions, graph=StepGraph(default_steps()))

    [run] = wait_until_ended(pg_sessions, [request.run_id], timeout_s=SWEEP_S + 12 * 2 + 60)

    _assert_all_completed_with_their_own_twelve_results(pg_sessions, [run])
    assert "Task campaign.start_run[" not in deployment.campaign.log_text()  # no start message ever arrived
