"""Parallel levels: with every step sleeping t, a run's wall time against its critical path (6t) and 12t."""

from __future__ import annotations

import math
import time
import uuid
from typing import Any

import psycopg
from celery import Celery

from benchmarks.harness import STEP_IDS, Worker, client_app, services, start_run, wait_runs
from benchmarks.stats import Row, summarize
from pipeline.graph import StepGraph
from pipeline.steps import default_steps

NAME = "parallel_levels"
SLEEP_S = 0.3
CONCURRENCY = (2, 4)


def run(*, quick: bool, deadline: float | None = None) -> list[Row]:
    rounds = 2 if quick else 3
    levels = StepGraph(default_steps()).levels
    critical, serial = len(levels) * SLEEP_S, len(STEP_IDS) * SLEEP_S
    payload = {"steps": {step: {"sleep_s": SLEEP_S} for step in STEP_IDS}}
    rows: list[Row] = []
    with services("levels") as svc, svc.connect() as conn:
        client = client_app(svc.redis_url)
        tenant = uuid.uuid4()
        for procs in CONCURRENCY:
            with Worker(svc, concurrency=procs).start(client):
                wait_runs(conn, [start_run(client, tenant)])  # warm-up: connections, imports
                noop_s, slept_s = [], []
                for _ in range(rounds):
                    noop_s.append(_wall_s(conn, client, tenant, {}))
                    slept_s.append(_wall_s(conn, client, tenant, payload))
            # The best `procs` processes can do: each level takes ceil(width / procs) sleeps.
            ideal = sum(math.ceil(len(level) / procs) for level in levels) * SLEEP_S
            row = Row(NAME, f"-c {procs}: every step sleeps {SLEEP_S} s", "s wall", summarize(slept_s))
            row.baseline = f"6t = {critical:.1f} s (critical path)"
            row.ratio = row.summary.median / critical
            noop = summarize(noop_s).median
            row.note = (
                f"= {row.summary.median / serial:.2f} x 12t ({serial:.1f} s); best with {procs} processes "
                f"{ideal:.1f} s; no-op run {noop:.2f} s"
            )
            row.extra = {"t_s": SLEEP_S, "six_t_s": critical, "twelve_t_s": serial, "ideal_s": ideal, "noop_s": noop}
            rows.append(row)
        client.close()
    return rows


def _wall_s(conn: psycopg.Connection[Any], client: Celery, tenant: uuid.UUID, payload: dict[str, Any]) -> float:
    t0 = time.perf_counter()
    run_id = start_run(client, tenant, payload)
    return wait_runs(conn, [run_id], interval_s=0.01) - t0
