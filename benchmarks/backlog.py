"""Backlog: 100 no-op runs enqueued at once on 2 worker processes; and one tenant's run behind another's backlog.

Steps of runs in progress go before new runs' first steps (message priorities, tasks.driver), and each tenant
runs at most CAMPAIGN_TENANT_MAX_RUNNING runs at once (fair share), so the first customer does not wait for the
last, and tenant B's single run does not wait behind tenant A's hundreds.

Tenant B's latency is measured twice: with no-op steps, where B's run (a fraction of a second) is small next to
the time the workers take to consume A's 200 start messages queued before B's (the intake floor: FIFO, one
message at a time); and with steps sleeping the realistic profile scaled down 20x on 16 worker slots (room for
two runs of A and one of B side by side), where what B waits for is the scheduling that fair share is about.
"""

from __future__ import annotations

import statistics
import time
import uuid
from typing import Any

from benchmarks.critical_path import profile_payload
from benchmarks.harness import STEP_IDS, Worker, client_app, services, start_run, wait_runs
from benchmarks.stats import Row, summarize

NAME = "backlog"
BURST = 100
A_BACKLOG = 200
NOOP: dict[str, Any] = {"steps": {step: {"noop": True} for step in STEP_IDS}}
PROFILE_SCALE = 20
PROFILE_PROCS = 16


def run(*, quick: bool, deadline: float | None = None) -> list[Row]:
    alone_rounds = 3 if quick else 5
    with services("backlog") as svc, svc.connect() as conn:
        client = client_app(svc.redis_url)
        with Worker(svc, concurrency=2).start(client):
            tenant = uuid.uuid4()
            wait_runs(conn, [start_run(client, tenant, NOOP)])  # warm-up
            alone = [_latency(conn, client, tenant, NOOP) for _ in range(alone_rounds)]
            burst_tenant = uuid.uuid4()
            t0 = time.time()
            ids = [start_run(client, burst_tenant, NOOP) for _ in range(BURST)]
            wait_runs(conn, ids, timeout_s=600, interval_s=0.05)
            times = conn.execute("SELECT created_at, finished_at FROM app.runs WHERE id = ANY(%s)", (ids,)).fetchall()
            finished = sorted(f.timestamp() - t0 for _, f in times)
            intake = max(c.timestamp() for c, _ in times) - t0  # when the last start message had made its row
        fair_noop = _fair_share(svc, conn, client, NOOP, concurrency=2, rounds=alone_rounds)
        profile = profile_payload(PROFILE_SCALE)
        fair_profile = _fair_share(svc, conn, client, profile, concurrency=PROFILE_PROCS, rounds=3)
        client.close()
    one = summarize(alone).median
    first = Row(NAME, f"{BURST} runs at once, -c 2: first completed", "s after send", summarize([finished[0]]))
    first.baseline, first.ratio, first.target = f"one run alone {one:.3f} s", finished[0] / one, 3.0
    floor = intake + one
    first.note = (f"the floor: starts go first (a new tenant is never starved), and consuming the {BURST} start "
                  f"messages took {intake:.2f} s; that plus one run is {floor:.2f} s ({floor / one:.2f}x)")  # fmt: skip
    first.extra = {"intake_s": intake, "floor_s": floor}
    median = statistics.median(finished)
    med = Row(NAME, f"{BURST} runs at once: median run latency", "s after send", summarize([median]))
    med.baseline, med.ratio, med.target = f"last run {finished[-1]:.2f} s", median / finished[-1], 0.6
    med.note = f"one run alone {one:.3f} s; all {BURST} done at {finished[-1]:.2f} s"
    rows = [first, med]
    for case, (b_alone, b_behind) in (
        ("no-op steps, -c 2", fair_noop),
        (f"profile / {PROFILE_SCALE}, -c {PROFILE_PROCS}", fair_profile),
    ):
        b_one = summarize(b_alone).median
        fair = Row(NAME, f"tenant B behind tenant A's {A_BACKLOG} (cap 2), {case}", "s latency", summarize(b_behind))
        fair.baseline, fair.ratio, fair.target = f"B alone {b_one:.3f} s", summarize(b_behind).median / b_one, 2.0
        rows.append(fair)
    rows[-2].note = "mostly the intake floor: A's 200 start messages ahead of B's are consumed one at a time"
    return rows


def _fair_share(
    svc: Any, conn: Any, client: Any, payload: dict[str, Any], *, concurrency: int, rounds: int
) -> tuple[list[float], list[float]]:
    """B's latency alone, then B's behind tenant A's backlog of runs sent just before it (cap 2 each)."""
    env = {"CAMPAIGN_TENANT_MAX_RUNNING": "2"}
    with Worker(svc, concurrency=concurrency, env=env).start(client):
        wait_runs(conn, [start_run(client, uuid.uuid4(), payload)], timeout_s=120)  # warm-up
        b_alone = [_latency(conn, client, uuid.uuid4(), payload) for _ in range(rounds)]
        tenant_a = uuid.uuid4()
        backlog = [start_run(client, tenant_a, payload) for _ in range(A_BACKLOG)]
        b_behind = _latency(conn, client, uuid.uuid4(), payload, timeout_s=600)
        # A's backlog is not part of the measurement: end it so the worker stops at once.
        conn.execute("UPDATE app.runs SET status = 'cancelled' WHERE id = ANY(%s) AND status IN "
                     "('queued', 'pending', 'running')", (backlog,))  # fmt: skip
    return b_alone, [b_behind]


def _latency(conn: Any, client: Any, tenant: uuid.UUID, payload: dict[str, Any], timeout_s: float = 120) -> float:
    t0 = time.perf_counter()
    run_id = start_run(client, tenant, payload)
    return wait_runs(conn, [run_id], timeout_s=timeout_s, interval_s=0.003) - t0
