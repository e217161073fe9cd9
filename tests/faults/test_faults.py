"""Faults that happen in real life, against real processes: a killed worker, a database outage, a Redis restart,
a redelivered message, a pickled message."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import kombu.exceptions
import redis
from celery import Celery
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from context import CampaignContext, ContextResolver
from pipeline.store import LocalArtifactStore
from tests.faults.conftest import RedisServer
from tests.proxy import TcpProxy
from tests.services import wait_for
from tests.worker_fixtures import WorkerProcess, client_app, fast_policy, wait_for_run, worker_env


def _step_outcome(sessions: sessionmaker[Session], run_id: uuid.UUID, step_id: str) -> str | None:
    with sessions() as s:
        query = text("SELECT outcome FROM app.run_steps WHERE run_id = :r AND step_id = :s")
        return s.execute(query, {"r": run_id, "s": step_id}).scalar()


def _start(client: Celery, tenant: uuid.UUID, payload: dict[str, object]) -> uuid.UUID:
    run_id = uuid.uuid4()
    client.send_task("campaign.start_run", args=[{"tenantId": str(tenant), "runId": str(run_id), "payload": payload}])
    return run_id


def _assert_complete_and_clean(run_context: object, artifact_root: Path) -> CampaignContext:
    ctx = CampaignContext.model_validate(run_context)
    resolver = ContextResolver()
    assert len(ctx.refs) == 12 and set(ctx.artifacts) == set(ctx.refs.values())  # one artifact per ref
    store = LocalArtifactStore(artifact_root)
    for ref in ctx.refs:
        art = resolver.get_ref(ctx, ref)
        assert art is not None and store.verify(art.uri, art.hash)
    return ctx


def test_a_worker_killed_mid_step_leaves_a_run_that_the_sweeper_finishes_without_a_person(
    app_pg_url: str, fault_redis_url: str, pg_sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    # Nothing redelivers the killed step soon (visibility timeout 1 h): its heartbeat stopped with the worker, so
    # the run's lease (2 s) expires and beat's sweep takes it over as a new driver.
    env = worker_env(app_pg_url, fault_redis_url, tmp_path / "artifacts", CAMPAIGN_RUN_LEASE_S="2",
                     CAMPAIGN_SWEEP_INTERVAL_S="1", CAMPAIGN_STEP_POLICY=fast_policy(4, 5))  # fmt: skip
    client = client_app(fault_redis_url)
    first = WorkerProcess(env, tmp_path / "w1.log")
    first.start(client)
    tenant = uuid.uuid4()
    run_id = _start(client, tenant, {"steps": {"bgm": {"sleep_s": 2}}})
    wait_for(lambda: _step_outcome(pg_sessions, run_id, "bgm") == "running", timeout_s=60, what="bgm to start")

    first.kill_hard()
    second = WorkerProcess(env, tmp_path / "w2.log", beat=True)
    second.start(client)
    try:
        run, steps = wait_for_run(pg_sessions, run_id, tenant, timeout_s=120)
    finally:
        second.stop()

    assert run.status == "completed", run.error
    assert run.epoch >= 2  # taken over by the sweeper
    _assert_complete_and_clean(run.context, tmp_path / "artifacts")
    assert steps["bgm"].outcome == "executed" and steps["bgm"].epoch == run.epoch
    assert steps["bgm"].attempts == 1  # attempts count per epoch: the takeover's first
    assert steps["plan"].attempts == 1  # recorded before the kill: never generated again
    with pg_sessions() as s:
        assert s.execute(text("SELECT count(*) FROM app.runs WHERE id = :r"), {"r": run_id}).scalar() == 1
        assert s.execute(text("SELECT count(*) FROM app.run_steps WHERE run_id = :r"), {"r": run_id}).scalar() == 12


def test_a_database_outage_during_the_last_steps_is_waited_out_and_nothing_is_lost(
    app_pg_url: str, fault_redis_url: str, pg_sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    proxy = TcpProxy(target_port=5432)
    proxy.start()
    proxied_url = app_pg_url.replace("@127.0.0.1:5432/", f"@127.0.0.1:{proxy.port}/")
    env = worker_env(proxied_url, fault_redis_url, tmp_path / "artifacts")
    client = client_app(fault_redis_url)
    worker = WorkerProcess(env, tmp_path / "w.log")
    worker.start(client)
    tenant = uuid.uuid4()
    try:
        run_id = _start(client, tenant, {"steps": {"campaign_manifest": {"sleep_s": 1.5}}})
        wait_for(
            lambda: _step_outcome(pg_sessions, run_id, "campaign_manifest") == "running",
            timeout_s=60,
            what="campaign_manifest to start",
        )
        proxy.stop()  # PostgreSQL is now unreachable for the worker: a closed port
        wait_for(lambda: "database unreachable" in worker.log_text() or "Retry in" in worker.log_text(),
                 timeout_s=60, what="the worker to notice the outage and schedule a retry")  # fmt: skip
        proxy.start()
        run, _ = wait_for_run(pg_sessions, run_id, tenant, timeout_s=120)
    finally:
        worker.stop()
        proxy.stop()

    assert run.status == "completed", run.error
    _assert_complete_and_clean(run.context, tmp_path / "artifacts")


def test_a_redis_restart_mid_run_loses_the_queued_steps_and_the_sweeper_finishes_the_run(
    app_pg_url: str, redis_server: RedisServer, pg_sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    env = worker_env(app_pg_url, redis_server.url, tmp_path / "artifacts", CAMPAIGN_RUN_LEASE_S="2",
                     CAMPAIGN_SWEEP_INTERVAL_S="1", CAMPAIGN_STEP_POLICY=fast_policy(4, 5))  # fmt: skip
    client = client_app(redis_server.url)
    worker = WorkerProcess(env, tmp_path / "w.log", beat=True)
    worker.start(client)
    tenant = uuid.uuid4()
    try:
        run_id = _start(client, tenant, {"steps": {"intro_video": {"sleep_s": 2}}})
        wait_for(lambda: _step_outcome(pg_sessions, run_id, "intro_video") == "running", timeout_s=60,
                 what="intro_video to start")  # fmt: skip
        redis_server.kill()  # no persistence: every queued message is gone
        redis_server.start()
        # The worker reconnects, or exits when kombu fails while re-acking on the lost connection ("Unrecoverable
        # error"); production's supervisor (compose `restart: unless-stopped`) starts it again, as done here.
        wait_for(lambda: worker.exited() or _pings(client), timeout_s=60, what="the worker to reconnect or exit")
        if worker.exited():
            worker = WorkerProcess(env, tmp_path / "w2.log", beat=True)
            worker.start(client)
        run, steps = wait_for_run(pg_sessions, run_id, tenant, timeout_s=120)
    finally:
        worker.stop()

    assert run.status == "completed", run.error
    _assert_complete_and_clean(run.context, tmp_path / "artifacts")
    assert steps["plan"].attempts == 1  # recorded before the restart: kept, not redone


def test_a_step_message_redelivered_after_the_run_completed_changes_nothing(
    app_pg_url: str, fault_redis_url: str, pg_sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    env = worker_env(app_pg_url, fault_redis_url, tmp_path / "artifacts")
    client = client_app(fault_redis_url)
    worker = WorkerProcess(env, tmp_path / "w.log")
    worker.start(client)
    tenant = uuid.uuid4()
    try:
        run_id = _start(client, tenant, {"brief": "redelivery"})
        run, _ = wait_for_run(pg_sessions, run_id, tenant)
        before = _raw_context(pg_sessions, run_id)
        ids = {"run_id": str(run_id), "tenant_id": str(tenant), "epoch": run.epoch}
        client.send_task("campaign.game_bundle", kwargs=ids, queue="campaign")
        client.send_task("campaign.start_run", args=[{"tenantId": str(tenant), "runId": str(run_id), "payload": {}}])
        wait_for(lambda: worker.log_text().count("the run is completed") >= 1, timeout_s=30,
                 what="the worker to drop the redelivered step")  # fmt: skip
    finally:
        worker.stop()

    assert _raw_context(pg_sessions, run_id) == before
    with pg_sessions() as s:
        assert s.execute(text("SELECT status FROM app.runs WHERE id = :r"), {"r": run_id}).scalar() == "completed"
        attempts = s.execute(text("SELECT max(attempts) FROM app.run_steps WHERE run_id = :r"), {"r": run_id})
        assert attempts.scalar() == 1


def test_a_pickled_task_message_is_refused_not_executed(
    app_pg_url: str, fault_redis_url: str, pg_sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    env = worker_env(app_pg_url, fault_redis_url, tmp_path / "artifacts")
    client = client_app(fault_redis_url)
    worker = WorkerProcess(env, tmp_path / "w.log")
    worker.start(client)
    tenant, run_id = uuid.uuid4(), uuid.uuid4()
    attacker = Celery("attacker", broker=fault_redis_url)
    attacker.conf.update(task_serializer="pickle", accept_content=["pickle", "json"])
    try:
        body = {"tenantId": str(tenant), "runId": str(run_id), "payload": {}}
        attacker.send_task("campaign.start_run", args=[body], serializer="pickle")
        wait_for(lambda: "pickle" in worker.log_text() and "Refusing" in worker.log_text(), timeout_s=30,
                 what="the worker to refuse the pickled message")  # fmt: skip
        # A JSON message sent after it is served, so the refusal did not stop the worker either.
        ok_run = _start(client, tenant, {"brief": "after the refusal"})
        run, _ = wait_for_run(pg_sessions, ok_run, tenant)
    finally:
        worker.stop()
        attacker.close()

    assert run.status == "completed"
    with pg_sessions() as s:
        assert s.execute(text("SELECT count(*) FROM app.runs WHERE id = :r"), {"r": run_id}).scalar() == 0


def _pings(client: Celery) -> bool:
    try:
        return bool(client.control.ping(timeout=0.5))
    except (OSError, redis.ConnectionError, kombu.exceptions.OperationalError):
        return False  # the client's own connection is re-established on a later try


def _raw_context(sessions: sessionmaker[Session], run_id: uuid.UUID) -> str:
    with sessions() as s:
        return str(s.execute(text("SELECT context::text FROM app.runs WHERE id = :r"), {"r": run_id}).scalar())


def test_a_database_outage_longer_than_the_retries_ends_with_the_run_finished_by_the_sweeper(
    app_pg_url: str, fault_redis_url: str, pg_sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    proxy = TcpProxy(target_port=5432)
    proxy.start()
    proxied_url = app_pg_url.replace("@127.0.0.1:5432/", f"@127.0.0.1:{proxy.port}/")
    # One retry of ~1 s: the outage outlasts it, so the step gives up, and its error callback cannot reach the
    # database either. Nothing is left to drive the run but its lease.
    env = worker_env(proxied_url, fault_redis_url, tmp_path / "artifacts", CAMPAIGN_DB_OUTAGE_RETRIES="1",
                     CAMPAIGN_RUN_LEASE_S="2", CAMPAIGN_SWEEP_INTERVAL_S="1",
                     CAMPAIGN_STEP_POLICY=fast_policy(4, 5))  # fmt: skip
    client = client_app(fault_redis_url)
    worker = WorkerProcess(env, tmp_path / "w.log", beat=True)
    worker.start(client)
    tenant = uuid.uuid4()
    try:
        run_id = _start(client, tenant, {"steps": {"sfx": {"sleep_s": 1.5}}})
        wait_for(lambda: _step_outcome(pg_sessions, run_id, "sfx") == "running", timeout_s=60, what="sfx to start")
        proxy.stop()
        gave_up = re.compile(r"Task campaign\.sfx\[[^\]]+\] raised unexpected: DatabaseUnavailableError")
        wait_for(lambda: gave_up.search(worker.log_text()) is not None, timeout_s=60,
                 what="the step to give up on the database")  # fmt: skip
        proxy.start()
        run, steps = wait_for_run(pg_sessions, run_id, tenant, timeout_s=120)
    finally:
        worker.stop()
        proxy.stop()

    assert run.status == "completed", run.error
    assert run.epoch >= 2  # taken over by the sweeper once the lease ran out
    _assert_complete_and_clean(run.context, tmp_path / "artifacts")
    assert steps["sfx"].outcome == "executed"
