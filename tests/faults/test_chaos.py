"""Chaos: 100 runs with generators that answer differently on every call, while workers are SIGKILLed at random
and Redis is restarted once. Every run must end by itself, none driven twice, every completed one consistent."""

from __future__ import annotations

import json
import random
import time
import uuid
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from context import CampaignContext
from context.registry import ReferenceTypeRegistry
from context.service import CampaignContextService
from pipeline.executor import StepExecutor
from pipeline.graph import StepGraph
from pipeline.steps import DEFAULT_GRAPH, default_steps
from pipeline.store import LocalArtifactStore
from pipeline.verify import verify_context
from tests.faults.conftest import RedisServer
from tests.worker_fixtures import WorkerProcess, client_app, fast_policy, worker_env

RUNS = 100
KILLS = 6  # the fourth comes with a Redis restart
LEASE_S, SWEEP_S = 3, 1
# Steps slow enough (as real services are) that the kills and the Redis restart land while runs are in flight:
# 100 runs x 12 steps x 0.2 s on 4 processes is about a minute of work, the faults come in the first ~20 s.
WORK_S = RUNS * 12 * 0.2 / 4
# The stated bound once the faults stop: the work left (at most all of it, on a machine twice as slow as an idle
# one) plus one takeover (lease + sweep) and a worker's restart for the last fault.
BOUND_S = 2 * WORK_S + LEASE_S + SWEEP_S + 30
RANDOM_PAYLOAD = {"steps": {step: {"random": True, "sleep_s": 0.2} for step, _ in DEFAULT_GRAPH}}


def _statuses(sessions: sessionmaker[Session], run_ids: list[uuid.UUID]) -> dict[str, str]:
    with sessions() as s:
        rows = s.execute(text("SELECT id, status FROM app.runs WHERE id = ANY(:ids)"), {"ids": run_ids})
        return {str(r.id): r.status for r in rows}


def test_a_hundred_runs_under_random_kills_and_a_redis_restart_all_end_consistent(
    app_pg_url: str,
    redis_server: RedisServer,
    pg_sessions: sessionmaker[Session],
    registry: ReferenceTypeRegistry,
    tmp_path: Path,
) -> None:
    rng = random.Random(20261202)
    artifacts = tmp_path / "artifacts"
    env = worker_env(app_pg_url, redis_server.url, artifacts, CAMPAIGN_RUN_LEASE_S=str(LEASE_S),
                     CAMPAIGN_SWEEP_INTERVAL_S=str(SWEEP_S), CAMPAIGN_MAX_SWEEPS="10",
                     CAMPAIGN_TENANT_MAX_RUNNING="20", CAMPAIGN_STEP_POLICY=fast_policy(4, 5))  # fmt: skip
    client = client_app(redis_server.url)
    beat = WorkerProcess(env, tmp_path / "beat.log", concurrency=1, beat=True)
    beat.start(client)
    workers = [WorkerProcess(env, tmp_path / f"w{i}.log") for i in range(2)]
    for w in workers:
        w.start(client)
    tenant = uuid.uuid4()
    run_ids = [uuid.uuid4() for _ in range(RUNS)]
    for run_id in run_ids:
        body = {"tenantId": str(tenant), "runId": str(run_id), "payload": RANDOM_PAYLOAD}
        client.send_task("campaign.start_run", args=[body])

    kills, restarted_redis, generation, in_flight_at_restart = 0, False, 2, 0
    try:
        while kills < KILLS:
            statuses = _statuses(pg_sessions, run_ids)
            if len(statuses) == RUNS and all(s in ("completed", "failed", "cancelled") for s in statuses.values()):
                break
            if restarted_redis:
                # A start lost with Redis before its row existed leaves no trace on the server: a client resends
                # it with the same runId (start_run is idempotent on it), as the README tells clients to.
                for run_id in run_ids:
                    if str(run_id) not in statuses:
                        body = {"tenantId": str(tenant), "runId": str(run_id), "payload": RANDOM_PAYLOAD}
                        client.send_task("campaign.start_run", args=[body])
            time.sleep(rng.uniform(1.5, 3.5))
            victim = rng.randrange(len(workers))
            workers[victim].kill_hard()
            kills += 1
            if not restarted_redis and kills == 4:
                in_flight_at_restart = sum(s not in ("completed", "failed", "cancelled") for s in statuses.values())
                in_flight_at_restart += RUNS - len(statuses)
                redis_server.kill()  # nothing on disk: every queued message is lost
                redis_server.start()
                restarted_redis = True
                client.close()
                client = client_app(redis_server.url)  # its pooled connections died with the server
            for i, w in enumerate(workers):
                if i == victim or w.exited():
                    generation += 1
                    workers[i] = WorkerProcess(env, tmp_path / f"w{generation}.log")
                    workers[i].start(client)
            if beat.exited():  # a Redis restart can make a worker exit; its supervisor starts it again
                beat = WorkerProcess(env, tmp_path / f"beat{generation}.log", concurrency=1, beat=True)
                beat.start(client)
        faults_over = time.monotonic()
        while time.monotonic() - faults_over < BOUND_S:
            statuses = _statuses(pg_sessions, run_ids)
            if len(statuses) == RUNS and all(s in ("completed", "failed", "cancelled") for s in statuses.values()):
                break
            for run_id in run_ids:  # as above: a client resends a start that left no row
                if str(run_id) not in statuses:
                    body = {"tenantId": str(tenant), "runId": str(run_id), "payload": RANDOM_PAYLOAD}
                    client.send_task("campaign.start_run", args=[body])
            time.sleep(1)
        elapsed = time.monotonic() - faults_over
    finally:
        for w in [*workers, beat]:
            w.stop()

    statuses = _statuses(pg_sessions, run_ids)
    stuck = {r: s for r, s in statuses.items() if s not in ("completed", "failed", "cancelled")}
    assert restarted_redis and kills >= 4
    assert in_flight_at_restart > 0, "every run had ended before Redis restarted: the faults tested nothing"
    assert len(statuses) == RUNS, f"{RUNS - len(statuses)} runs were never created"
    assert not stuck, f"{len(stuck)} runs not terminal {elapsed:.0f} s after the faults: {sorted(set(stuck.values()))}"

    executor = StepExecutor(CampaignContextService(registry), LocalArtifactStore(artifacts))
    graph = StepGraph(default_steps())
    with pg_sessions() as s:
        rows = s.execute(text("SELECT id, status, error, context FROM app.runs WHERE id = ANY(:ids)"),
                         {"ids": run_ids}).all()  # fmt: skip
        results = dict(
            s.execute(
                text("SELECT run_id, count(*) FROM app.run_steps WHERE run_id = ANY(:ids) AND result IS NOT NULL "
                     "GROUP BY run_id"),
                {"ids": run_ids},
            ).all()
        )  # fmt: skip
    completed = [r for r in rows if r.status == "completed"]
    assert [(r.id, r.error) for r in rows if r.status != "completed"] == []  # kills and a lost broker fail nothing
    assert {run_id: results.get(run_id) for run_id in run_ids} == dict.fromkeys(run_ids, 12)  # each its own 12
    store = LocalArtifactStore(artifacts)
    for row in completed:
        ctx = CampaignContext.model_validate(row.context)
        assert verify_context(ctx, graph, executor) == [], row.id
        # Every generated JSON names the input hashes it was built from: they must be the ones in the context.
        by_type = {a.type: a.hash for a in ctx.artifacts.values()}
        for art in ctx.artifacts.values():
            if art.uri.endswith(".json"):
                built_from = json.loads(store.read(art.uri, art.hash)).get("builtFrom", {})
                assert built_from == {t: by_type[t] for t in built_from}, (row.id, art.type)
    print(f"chaos: {len(completed)} completed, {kills} kills, ended {elapsed:.0f} s after the faults")
