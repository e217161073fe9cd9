"""Real run: worker CPU of a campaign run with the offline generators versus one with no-op generators.

One worker (`-c 2`, generators from benchmarks.switch) runs both kinds, interleaved: a no-op run asks every
step for `noop`, a real one sends only a brief. CPU is the worker's own (main process and pool children, user +
system, from /proc) over a batch of runs sent at once, divided by the batch; so the ratio says how much the
media adds to what orchestration costs per run.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import psycopg
from celery import Celery

from benchmarks.harness import STEP_IDS, Worker, client_app, services, start_run, wait_runs
from benchmarks.media_cpu import BRIEF
from benchmarks.stats import Row, compare, summarize
from benchmarks.switch import PATH

NAME = "real_run"
TARGET = 2.0
BATCH = 6  # runs per measurement: /proc counts CPU in 10 ms ticks, so a batch must cost well over that
NOOP_PAYLOAD: dict[str, Any] = {"steps": {step_id: {"noop": True} for step_id in STEP_IDS}}
REAL_PAYLOAD: dict[str, Any] = {"brief": BRIEF}


def run(*, quick: bool, deadline: float | None = None) -> list[Row]:
    rounds = 3 if quick else 6
    with services("real") as svc, svc.connect() as conn:
        client = client_app(svc.redis_url)
        tenant = uuid.uuid4()
        env = {"CAMPAIGN_GENERATORS": json.dumps({"*": PATH})}
        with Worker(svc, env=env).start(client) as worker:
            for payload in (REAL_PAYLOAD, NOOP_PAYLOAD):  # warm-up: imports, fonts, connections, in every child
                wait_runs(conn, [start_run(client, tenant, payload) for _ in range(2)])
            noop_ms: list[float] = []
            real_ms: list[float] = []
            cases = [(NOOP_PAYLOAD, noop_ms), (REAL_PAYLOAD, real_ms)]
            for i in range(rounds):  # interleaved, alternating who goes first, so drift hits both alike
                for payload, out in cases if i % 2 == 0 else cases[::-1]:
                    out.append(_cpu_ms_per_run(conn, client, worker, tenant, payload))
        client.close()

    noop = Row(NAME, "no-op generators", "ms worker CPU/run", summarize(noop_ms), note=f"batches of {BATCH} runs")
    real = Row(NAME, "offline generators", "ms worker CPU/run", summarize(real_ms))
    compare(real, noop, target=TARGET)
    media = real.summary.median - noop.summary.median
    real.note = f"media ≈ {media:.0f} ms/run ({100 * media / real.summary.median:.0f}% of the run's worker CPU)"
    return [noop, real]


def _cpu_ms_per_run(
    conn: psycopg.Connection[Any], client: Celery, worker: Worker, tenant: uuid.UUID, payload: dict[str, Any]
) -> float:
    before = worker.cpu_s()
    wait_runs(conn, [start_run(client, tenant, payload) for _ in range(BATCH)], interval_s=0.02)
    time.sleep(0.1)  # the last step acks and logs after its run is recorded complete
    return (worker.cpu_s() - before) * 1000 / BATCH
