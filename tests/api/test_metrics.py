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
from celery import Celery
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from tests.api.conftest import METRICS_KEY, NOOP, ApiServer, Tenant, api_env, new_tenant, wait_until_finished
from tests.services import free_port, wait_for
from tests.worker_fixtures import ROOT, client_app, worker_env


@dataclass
class Metered:
    api: ApiServer
    tenant: Tenant
    worker_metrics: str  # the worker's own /metrics URL


@pytest.fixture
def metered(app_pg_url: str, fault_redis_url: str, artifact_root: Path, tmp_path: Path) -> Iterator[Metered]:
    """`campaign worker -c 2 --metrics-port` and an API sharing one multiprocess directory, on their own Redis db."""
    prom = tmp_path / "prom"
    prom.mkdir()
    tenant = new_tenant()
    client = client_app(fault_redis_url)
    port, name = free_port(), f"metrics-{uuid.uuid4().hex[:6]}"
    env = worker_env(app_pg_url, fault_redis_url, artifact_root, PROMETHEUS_MULTIPROC_DIR=str(prom))
    cmd = [sys.executable, "-m", "cli", "worker", "--metrics-port", str(port), "-c", "2", "-n", f"{name}@%h",
           "--without-gossip", "--without-mingle", "-l", "INFO"]  # fmt: skip
    with (tmp_path / "worker.log").open("ab") as log:
        worker = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    server = ApiServer(
        api_env(app_pg_url, fault_redis_url, artifact_root, [tenant], PROMETHEUS_MULTIPROC_DIR=str(prom)),
        tmp_path / "api.log",
    )
    try:
        wait_for(lambda: _pong(client, name, worker), timeout_s=60, what=f"worker {name} to answer a ping")
        server.start()
        yield Metered(server, tenant, f"http://127.0.0.1:{port}/metrics")
    finally:
        server.stop()
        os.kill(worker.pid, signal.SIGTERM)
        worker.wait(timeout=60)
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


def test_metrics_match_the_ledger_after_a_known_set_of_runs(
    metered: Metered, pg_sessions: sessionmaker[Session]
) -> None:
    server, tenant = metered.api, metered.tenant
    failing = {**NOOP, "steps": {**NOOP["steps"], "sfx": {"fail": "permanent"}}}
    with httpx.Client(base_url=server.url, timeout=30) as http:
        runs = [http.post("/v1/runs", json={"payload": p}, headers=tenant.headers).json()["id"]
                for p in (NOOP, NOOP, NOOP, failing)]  # fmt: skip
        statuses = [wait_until_finished(http, run_id, tenant)["status"] for run_id in runs]
        refused = http.get("/metrics", headers=tenant.headers)
        scraped = http.get("/metrics", headers={"Authorization": f"Bearer {METRICS_KEY}"})
        from_worker = http.get(metered.worker_metrics)

    assert statuses == ["completed", "completed", "completed", "failed"]
    assert refused.status_code == 401  # a tenant's key does not read every tenant's counts
    assert scraped.status_code == 200, scraped.text
    samples = _samples(scraped.text)
    with pg_sessions() as s:
        by_status = dict(s.execute(text("SELECT status, count(*) FROM app.runs GROUP BY status")).all())
        attempts = Counter(
            dict(
                s.execute(
                    text("SELECT step_id, sum(attempts) FROM app.run_steps WHERE run_id = ANY(:runs) GROUP BY step_id"),
                    {"runs": [uuid.UUID(r) for r in runs]},
                ).all()
            )
        )
    for status in ("queued", "pending", "running", "completed", "failed", "cancelled"):
        assert samples[("campaign_runs", (("status", status),))] == by_status.get(status, 0), status
    ran: Counter[str] = Counter()
    waited: Counter[str] = Counter()
    for (name, labels), value in samples.items():
        step = dict(labels).get("step", "")
        if name == "campaign_step_duration_seconds_count":
            ran[step] += int(value)
        elif name == "campaign_step_queue_wait_seconds_count":
            waited[step] += int(value)
    assert ran == waited == attempts, (ran, attempts)
    assert ran["plan"] == 4 and ran["campaign_manifest"] == 3
    failed_sfx = sum(v for (n, lb), v in samples.items() if n == "campaign_step_duration_seconds_count"
                     and dict(lb) == {"step": "sfx", "outcome": "failure"})  # fmt: skip
    assert failed_sfx >= 1
    # The worker serves the same step metrics (its pool children's files) on its own port.
    worker_samples = _samples(from_worker.text)
    assert {k: v for k, v in worker_samples.items() if k[0].endswith("_count")} == {
        k: v for k, v in samples.items() if k[0].endswith("_count") and k[0] != "campaign_runs"
    }
