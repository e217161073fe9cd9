"""Scale: throughput with 10, 100 and 1,000 runs queued at once, to show the per-run cost stays flat."""

from __future__ import annotations

import time
import uuid
from typing import Any

import psycopg
import redis
from celery import Celery

from benchmarks.harness import Worker, client_app, services, start_run, wait_runs
from benchmarks.stats import Row, compare, summarize

NAME = "scale"
LARGEST = 1000
MARGIN = 2.0  # the large round starts only if twice its estimate fits: per-run cost grows with the count
RESERVE_S = 25  # left for stopping the worker, dropping the database and writing the report


def run(*, quick: bool, deadline: float | None = None) -> list[Row]:
    plan = [(10, 3 if quick else 5), (100, 2 if quick else 3)]
    deadline = deadline if deadline is not None else time.monotonic() + (90 if quick else 300)
    rows: list[Row] = []
    with services("scale") as svc, svc.connect() as conn:
        client = client_app(svc.redis_url)
        tenant = uuid.uuid4()
        with Worker(svc).start(client):
            wait_runs(conn, [start_run(client, tenant)])  # warm-up
            per_run: dict[int, list[float]] = {}
            memory: dict[int, float] = {0: _redis_memory_mb(svc.redis_url)}
            for n, rounds in plan:
                per_run[n] = [_wall_s(conn, client, tenant, n) / n for _ in range(rounds)]
                memory[n] = _redis_memory_mb(svc.redis_url)
            estimate = min(per_run[100]) * LARGEST
            left = deadline - time.monotonic() - RESERVE_S
            largest, skipped = LARGEST, ""
            if estimate * MARGIN > left:
                # The largest count that fits, in hundreds; below 200 it says nothing 100 did not.
                largest = int(left / MARGIN / min(per_run[100]) // 100 * 100)
                skipped = (
                    f"1,000 runs would take ~{estimate:.0f} s, more than the {max(left, 0):.0f} s left of the budget"
                )
            if largest >= 200:
                per_run[largest] = [_wall_s(conn, client, tenant, largest, timeout_s=max(left, 60)) / largest]
                if not quick and time.monotonic() + min(per_run[largest]) * largest * MARGIN < deadline - RESERVE_S:
                    per_run[largest].append(_wall_s(conn, client, tenant, largest) / largest)
            memory[largest if largest >= 200 else 100] = _redis_memory_mb(svc.redis_url)
        client.close()

    base: Row | None = None
    for n, values in per_run.items():
        row = Row(NAME, f"{n:,} runs queued at once", "ms/run (wall÷N)", summarize([v * 1000 for v in values]))
        row.note = f"{1000 / row.summary.median:.2f} runs/s"
        if len(values) == 1:
            row.note += "; one round (no spread)"
        if n in memory:
            row.note += f"; Redis used_memory after: {memory[n]:.2f} MB (before any run: {memory[0]:.2f} MB)"
        if base is None:
            base = row
        else:
            compare(row, base)
        rows.append(row)
    if skipped:
        rows[-1].note += f"; {skipped}" + (f", so {largest:,} were queued" if largest >= 200 else "; skipped")
    return rows


def _redis_memory_mb(url: str) -> float:
    """Redis's used_memory: flat when results are not piling up (steps store none, start results expire)."""
    conn = redis.Redis.from_url(url)
    try:
        return int(conn.info("memory")["used_memory"]) / 1e6
    finally:
        conn.close()


def _wall_s(conn: psycopg.Connection[Any], client: Celery, tenant: uuid.UUID, n: int, timeout_s: float = 600) -> float:
    t0 = time.perf_counter()
    ids = [start_run(client, tenant) for _ in range(n)]
    return wait_runs(conn, ids, timeout_s=timeout_s, interval_s=0.05) - t0
