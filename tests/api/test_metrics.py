"""/metrics counted against the ledger after a known set of runs, with a prefork worker writing its children's
metrics to PROMETHEUS_MULTIPROC_DIR and the API adding them up."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import redis
from celery import Celery
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from context import ReferenceTypeRegistry, RunStatus
from context.db import make_engine, session_factory
from context.migrations import upgrade
from pipeline.policy import DEFAULT_QUEUE
from pipeline.store import LocalArtifactStore
from tasks.app import ALL_QUEUES, INTAKE_QUEUE
from tests.api.conftest import METRICS_KEY, NOOP, ApiServer, Tenant, api_env, new_tenant, wait_until_finished
from tests.services import (
    create_database,
    create_managed_owner,
    drop_database,
    drop_role,
    free_port,
    sqlalchemy_url,
    sqlalchemy_url_as,
    wait_for,
)
from tests.worker_fixtures import ROOT, client_app, left_behind, wait_for_run, worker_env


@dataclass
class OwnLedger:
    """A database of this test's own: the ledger-wide gauges and the sweep see exactly the runs it makes."""

    url: str  # as its owner, a managed PostgreSQL's admin (row-level security binds it), as workers log in
    sessions: sessionmaker[Session]  # as the cluster's superuser, to set up and read rows of any tenant


@pytest.fixture
def own_ledger() -> Iterator[OwnLedger]:
    owner = create_managed_owner()
    name = create_database("campaign_metrics", owner=owner)
    engine = None
    try:
        url = sqlalchemy_url_as(name, owner)
        upgrade(url)
        engine = make_engine(sqlalchemy_url(name))
        yield OwnLedger(url, session_factory(engine))
    finally:
        if engine is not None:
            engine.dispose()
        drop_database(name)
        drop_role(owner)


@dataclass
class Metered:
    api: ApiServer
    tenant: Tenant
    worker_metrics: str  # the worker's own /metrics URL
    client: Celery
    worker: subprocess.Popen[bytes]
    ledger: OwnLedger

    def stop_worker(self) -> None:
        if self.worker.poll() is None:
            os.kill(self.worker.pid, signal.SIGTERM)
            self.worker.wait(timeout=60)


@pytest.fixture
def metered(own_ledger: OwnLedger, fault_redis_url: str, artifact_root: Path, tmp_path: Path) -> Iterator[Metered]:
    """`campaign worker -c 2 --metrics-port` and an API sharing one multiprocess directory, on their own Redis db
    and their own database."""
    prom = tmp_path / "prom"
    prom.mkdir()
    tenant = new_tenant()
    client = client_app(fault_redis_url)
    port, name = free_port(), f"metrics-{uuid.uuid4().hex[:6]}"
    env = worker_env(own_ledger.url, fault_redis_url, artifact_root, PROMETHEUS_MULTIPROC_DIR=str(prom))
    cmd = [sys.executable, "-m", "cli", "worker", "--metrics-port", str(port), "-c", "2", "-n", f"{name}@%h",
           "--without-gossip", "--without-mingle", "-l", "INFO"]  # fmt: skip
    with (tmp_path / "worker.log").open("ab") as log:
        worker = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    server = ApiServer(
        api_env(own_ledger.url, fault_redis_url, artifact_root, [tenant], PROMETHEUS_MULTIPROC_DIR=str(prom)),
        tmp_path / "api.log",
    )
    metered = Metered(server, tenant, f"http://127.0.0.1:{port}/metrics", client, worker, own_ledger)
    try:
        wait_for(lambda: _pong(client, name, worker), timeout_s=60, what=f"worker {name} to answer a ping")
        server.start()
        yield metered
    finally:
        server.stop()
        metered.stop_worker()
        client.close()


def _pong(client: Celery, name: str, worker: subprocess.Popen[bytes]) -> bool:
    if worker.poll() is not None:
        raise RuntimeError(f"campaign worker exited with {worker.returncode}")
    return bool(client.control.ping(destination=[f"{name}@{os.uname().nodename}"], timeout=0.5))


def _samples(exposition: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(exposition)
        for s in family.samples
    }


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def _by(samples: Samples, name: str, *labels: str) -> dict[tuple[str, ...], float]:
    """The samples of `name`, summed over every label but `labels`, keyed by those labels' values."""
    out: dict[tuple[str, ...], float] = {}
    for (n, lb), value in samples.items():
        if n == name:
            key = tuple(dict(lb)[label] for label in labels)
            out[key] = out.get(key, 0) + value
    return out


def _scrape(http: httpx.Client) -> Samples:
    answer = http.get("/metrics", headers={"Authorization": f"Bearer {METRICS_KEY}"})
    assert answer.status_code == 200, answer.text
    return _samples(answer.text)


def _artifact_bytes(sessions: sessionmaker[Session], runs: list[uuid.UUID], root: Path) -> dict[tuple[str], float]:
    """Bytes of every artifact the runs' stored contexts name, by type, measured on the store's files."""
    store = LocalArtifactStore(root)
    total: dict[tuple[str], float] = {}
    with sessions() as s:
        contexts = s.execute(text("SELECT context FROM app.runs WHERE id = ANY(:runs)"), {"runs": runs}).scalars()
        for ctx in contexts:
            for art in (ctx or {}).get("artifacts", {}).values():
                key = (art["type"],)
                total[key] = total.get(key, 0) + store.path_of(art["uri"]).stat().st_size
    return total


def test_metrics_match_the_ledger_after_a_known_set_of_runs(
    metered: Metered, registry: ReferenceTypeRegistry, artifact_root: Path, fault_redis_url: str
) -> None:
    server, tenant, pg_sessions = metered.api, metered.tenant, metered.ledger.sessions
    # The first step fails: no other step is in flight to be dropped as stale, so every delivery is an attempt.
    failing = {**NOOP, "steps": {**NOOP["steps"], "plan": {"fail": "permanent"}}}
    # A transient failure every time: retried CAMPAIGN_STEP_MAX_RETRIES (2) times, then the run fails.
    retrying = {**NOOP, "steps": {**NOOP["steps"], "plan": {"fail": "transient"}}}
    with httpx.Client(base_url=server.url, timeout=30) as http:
        # Three completed runs and two failed ones, over HTTP.
        runs = [http.post("/v1/runs", json={"payload": p}, headers=tenant.headers).json()["id"]
                for p in (NOOP, NOOP, NOOP, failing, retrying)]  # fmt: skip
        statuses = [wait_until_finished(http, run_id, tenant)["status"] for run_id in runs]
        ours = [uuid.UUID(r) for r in runs]
        # A queued run whose start never came, cancelled over HTTP: ended by the API process itself.
        queued = left_behind(pg_sessions, registry, tenant.id, status=RunStatus.QUEUED)
        cancelled = http.post(f"/v1/runs/{queued}/cancel", json={"reason": "counted"}, headers=tenant.headers)
        # Three runs left behind, one sweep: a takeover, a resend, and a failure after too many takeovers.
        swept = uuid.uuid4()
        taken = left_behind(pg_sessions, registry, swept, running="plan")
        resent = left_behind(pg_sessions, registry, swept)
        given_up = left_behind(pg_sessions, registry, swept, sweeps=3, running="plan")  # CAMPAIGN_MAX_SWEEPS is 3
        metered.client.send_task("campaign.sweep", queue=DEFAULT_QUEUE)
        ended = {run: wait_for_run(pg_sessions, run, swept)[0].status for run in (taken, resent, given_up)}
        ours += [queued, taken, resent, given_up]
        # Runs waiting for admission, of two tenants (no sweeper runs from here on to admit them).
        waiting = {uuid.uuid4(): 2, uuid.uuid4(): 1}
        made_up = [left_behind(pg_sessions, registry, t, status=RunStatus.QUEUED) for t, n in waiting.items()
                   for _ in range(n)]  # fmt: skip
        try:
            refused = http.get("/metrics", headers=tenant.headers)
            samples = _scrape(http)
            from_worker = _samples(httpx.get(metered.worker_metrics).text)
            # Start messages no worker takes: the intake depth is what Redis holds.
            metered.stop_worker()
            for _ in range(3):
                metered.client.send_task("campaign.start_run", args=[{"tenantId": str(uuid.uuid4())}])
            depths = _by(_scrape(http), "campaign_queue_messages", "queue")
        finally:
            with pg_sessions() as s, s.begin():
                s.execute(text("DELETE FROM app.runs WHERE id = ANY(:runs)"), {"runs": made_up})

    assert statuses == ["completed", "completed", "completed", "failed", "failed"]
    assert cancelled.status_code == 200, cancelled.text
    assert ended == {taken: "completed", resent: "completed", given_up: "failed"}
    assert refused.status_code == 401  # a tenant's key does not read every tenant's counts
    with pg_sessions() as s:
        by_status: dict[str, int] = dict(s.execute(text("SELECT status, count(*) FROM app.runs GROUP BY status")).all())
        ages = {status: (n, total) for status, n, total in s.execute(text(
            "SELECT status, count(*), sum(extract(epoch FROM finished_at - created_at)) FROM app.runs "
            "WHERE id = ANY(:runs) GROUP BY status"), {"runs": ours})}  # fmt: skip
        steps = s.execute(
            text("SELECT step_id, queue, outcome, attempts FROM app.run_steps WHERE run_id = ANY(:runs)"),
            {"runs": ours},
        ).all()
        queued_now: dict[uuid.UUID, int] = dict(
            s.execute(text("SELECT tenant_id, count(*) FROM app.runs WHERE status = 'queued' GROUP BY tenant_id")).all()
        )
        # Each takeover gave its run a new epoch; the runs left behind were made at epoch 1.
        took_over = s.scalar(text("SELECT sum(epoch - 1) FROM app.runs WHERE id = ANY(:runs)"),
                             {"runs": [taken, resent, given_up]})  # fmt: skip
        failed_by_sweeper = s.scalar(text("SELECT count(*) FROM app.runs WHERE id = ANY(:runs) "
                                          "AND failed_step = 'sweeper'"), {"runs": ours})  # fmt: skip

    # Runs by status: the whole ledger, read at scrape time.
    for status in ("queued", "pending", "running", "completed", "failed", "cancelled"):
        expected = by_status.get(status, 0) + (len(made_up) if status == "queued" else 0)  # deleted since
        assert samples[("campaign_runs", (("status", status),))] == expected, status
    # Run durations: one observation per run ended, its value the ledger's finished_at - created_at.
    counts = _by(samples, "campaign_run_duration_seconds_count", "outcome")
    sums = _by(samples, "campaign_run_duration_seconds_sum", "outcome")
    assert counts == {(status,): n for status, (n, _) in ages.items()}
    assert counts == {("completed",): 5, ("failed",): 3, ("cancelled",): 1}
    for status, (_, total) in ages.items():
        assert sums[(status,)] == pytest.approx(float(total), abs=1e-3), status
    # Steps: each attempt the ledger counted ran once on its queue; each failed step failed once, after its
    # retries (every attempt past the first: nothing was redelivered).
    attempts: Counter[tuple[str, ...]] = Counter()
    failed: Counter[tuple[str, ...]] = Counter()
    retried: Counter[tuple[str, ...]] = Counter()
    for step, queue, outcome, n in steps:
        if queue is not None:  # not the made-up step of the run the sweeper gave up: no worker ever started it
            attempts[(step, queue)] += n
            retried[(step,)] += n - 1
        failed[(step,)] += outcome == "failed"
    ran = _by(samples, "campaign_step_duration_seconds_count", "step", "queue")
    waited = _by(samples, "campaign_step_queue_wait_seconds_count", "step", "queue")
    assert ran == waited == +attempts
    assert ran[("plan", "campaign")] == 9 and ran[("campaign_manifest", "campaign")] == 5
    outcomes = _by(samples, "campaign_step_duration_seconds_count", "step", "outcome")
    assert {(step,): v for (step, outcome), v in outcomes.items() if outcome == "failure"} == +failed
    assert {(step,): v for (step, outcome), v in outcomes.items() if outcome == "retry"} == +retried
    assert _by(samples, "campaign_step_retries_total", "step") == +retried
    assert +failed == {("plan",): 2} and +retried == {("plan",): 2}
    # The sweeper: one action per run it looked at; takeovers and failures as the ledger recorded them.
    actions = _by(samples, "campaign_sweeper_actions_total", "action")
    assert actions == {("taken_over",): took_over, ("resend",): 1, ("fail",): failed_by_sweeper}
    assert took_over == 1 and failed_by_sweeper == 1
    # Artifact bytes: what the recorded steps stored, as the store's files measure them.
    assert _by(samples, "campaign_artifact_bytes_total", "type") == _artifact_bytes(pg_sessions, ours, artifact_root)
    # Waiting for admission, per tenant: the ledger's queued runs.
    admissions = _by(samples, "campaign_admissions_waiting", "tenant")
    assert admissions == {(str(t),): n for t, n in queued_now.items()} | {(str(t),): n for t, n in waiting.items()}
    # Intake depth: the three start messages, as Redis holds them (every priority list of the queue).
    broker = redis.Redis.from_url(fault_redis_url)
    held = sum(int(broker.llen(INTAKE_QUEUE if p == 0 else f"{INTAKE_QUEUE}\x06\x16{p}")) for p in range(10))
    assert depths[(INTAKE_QUEUE,)] == held == 3
    assert all(depths[(q,)] == 0 for q in ALL_QUEUES if q != INTAKE_QUEUE)
    # The worker serves the same event metrics (its pool children's files, the API's too) on its own port.
    scrape_time = {"campaign_runs", "campaign_admissions_waiting", "campaign_queue_messages"}
    assert {k: v for k, v in from_worker.items() if k[0].startswith("campaign_")} == {
        k: v for k, v in samples.items() if k[0].startswith("campaign_") and k[0] not in scrape_time
    }
