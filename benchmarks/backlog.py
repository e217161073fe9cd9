"""Backlog: 100 no-op runs enqueued at once on 2 worker processes; and one tenant's run behind another's backlog.

Steps of runs in progress go before new runs' first steps (message priorities, tasks.driver), and each tenant
runs at most CAMPAIGN_TENANT_MAX_RUNNING runs at once (fair share), so the first customer does not wait for the
last, and tenant B's single run does not wait behind tenant A's hundreds.

The burst runs on two layouts. Recommended: the 2 step processes consume only the step queues and one intake
process (`-Q celery -c 1`) takes start messages as they come, so starts never wait for a step slot and steps
never wait behind starts. Shared: one `-c 2` worker consumes everything; a burst's first starts go first there,
its later ones behind the steps of runs in progress (fair intake: tasks.intake).

Tenant B's latency is measured twice, on the recommended layout: with no-op steps, where what B waits for is
the intake (A's 200 start messages were sent just before B's; fair intake lets B's overtake all but a few); and
with steps sleeping the realistic profile scaled down 20x on 16 worker slots (room for two runs of A and one of
B side by side), where what B waits for is the scheduling that fair share is about.
"""

from __future__ import annotations

import statistics
import time
import uuid
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

from benchmarks.critical_path import profile_payload
from benchmarks.harness import STEP_IDS, Worker, client_app, services, start_run, wait_runs
from benchmarks.stats import Row, summarize
from pipeline.policy import INTAKE_BURST, START_LEVELS
from tests.services import wait_for

NAME = "backlog"
BURST = 100
A_BACKLOG = 200
NOOP: dict[str, Any] = {"steps": {step: {"noop": True} for step in STEP_IDS}}
PROFILE_SCALE = 20
PROFILE_PROCS = 16


# (label, [(queues, processes), ...]): "" consumes every queue.
SPLIT = ("2 step processes + 1 intake", [("campaign,media", 2), ("celery", 1)])
SHARED = ("one -c 2 worker for all", [("", 2)])


@dataclass(frozen=True)
class Burst:
    one_s: float  # one run alone, same workers
    finished_s: list[float]  # each run's completion, seconds after the first send, sorted
    intake_s: float  # when the last start message had made its row


def run(*, quick: bool, deadline: float | None = None) -> list[Row]:
    alone_rounds = 3 if quick else 5
    with services("backlog") as svc, svc.connect() as conn:
        client = client_app(svc.redis_url)
        split = _burst(svc, conn, client, SPLIT[1], alone_rounds)
        shared = _burst(svc, conn, client, SHARED[1], alone_rounds)
        fair_noop = _fair_share(svc, conn, client, NOOP, steps=2, rounds=alone_rounds)
        profile = profile_payload(PROFILE_SCALE)
        fair_profile = _fair_share(svc, conn, client, profile, steps=PROFILE_PROCS, rounds=3)
        client.close()
    rows = [*_burst_rows(SPLIT[0], split, target=True), *_burst_rows(SHARED[0], shared, target=False)]
    last_level_from = (len(START_LEVELS) - 1) * INTAKE_BURST + 1
    levels = "/".join(map(str, START_LEVELS))
    rows[-2].note += (f"; here starts and steps share the processes: a burst's starts go at levels {levels} "
                      f"(tasks.intake), so from the {last_level_from}th on they wait behind the steps of runs in "
                      "progress")  # fmt: skip
    for case, fair_share in (
        ("no-op steps, -c 2 + intake", fair_noop),
        (f"profile / {PROFILE_SCALE}, -c {PROFILE_PROCS} + intake", fair_profile),
    ):
        b_one = summarize(fair_share.b_alone_s).median
        fair = Row(NAME, f"tenant B behind tenant A's {A_BACKLOG} (cap 2), {case}", "s latency",
                   summarize([fair_share.b_behind_s]))  # fmt: skip
        fair.baseline, fair.ratio, fair.target = f"B alone {b_one:.3f} s", fair_share.b_behind_s / b_one, 2.0
        fair.note = (f"B's start was taken in after {fair_share.a_before_b} of the {A_BACKLOG} A sent just before it "
                     f"(first come, first served: after all {A_BACKLOG}), {fair_share.b_intake_s * 1000:.0f} ms after "
                     f"its send; A's waiting starts go a priority level back every {INTAKE_BURST}; the rest is B's "
                     "steps sharing the step processes with A's admitted runs")  # fmt: skip
        fair.extra = {"a_before_b": fair_share.a_before_b, "b_intake_s": fair_share.b_intake_s}
        rows.append(fair)
    return rows


def _burst(svc: Any, conn: Any, client: Any, layout: list[tuple[str, int]], alone_rounds: int) -> Burst:
    """One run alone (median of `alone_rounds`), then BURST runs of one tenant sent at once, on these workers."""
    with ExitStack() as stack:
        for queues, procs in layout:
            stack.enter_context(Worker(svc, concurrency=procs, queues=queues)).start(client)  # stopped if start fails
        tenant = uuid.uuid4()
        wait_runs(conn, [start_run(client, tenant, NOOP)])  # warm-up
        alone = [_latency(conn, client, tenant, NOOP) for _ in range(alone_rounds)]
        burst_tenant = uuid.uuid4()
        t0 = time.time()
        ids = [start_run(client, burst_tenant, NOOP) for _ in range(BURST)]
        wait_runs(conn, ids, timeout_s=600, interval_s=0.05)
        times = conn.execute("SELECT created_at, finished_at FROM app.runs WHERE id = ANY(%s)", (ids,)).fetchall()
    return Burst(
        one_s=summarize(alone).median,
        finished_s=sorted(f.timestamp() - t0 for _, f in times),
        intake_s=max(c.timestamp() for c, _ in times) - t0,
    )


def _burst_rows(label: str, burst: Burst, *, target: bool) -> list[Row]:
    one, finished = burst.one_s, burst.finished_s
    first = Row(NAME, f"{BURST} runs at once, {label}: first completed", "s after send", summarize([finished[0]]))
    first.baseline, first.ratio = f"one run alone {one:.3f} s", finished[0] / one
    first.note = f"the last start message had made its row at {burst.intake_s:.2f} s"
    first.extra = {"intake_s": burst.intake_s, "one_run_s": one}
    median = statistics.median(finished)
    med = Row(NAME, f"{BURST} runs at once, {label}: median run latency", "s after send", summarize([median]))
    med.baseline, med.ratio = f"last run {finished[-1]:.2f} s", median / finished[-1]
    med.note = f"one run alone {one:.3f} s; all {BURST} done at {finished[-1]:.2f} s"
    if target:
        first.target, med.target = 3.0, 0.6
    return [first, med]


@dataclass(frozen=True)
class FairShare:
    b_alone_s: list[float]
    b_behind_s: float
    a_before_b: int  # of A's backlog, the starts taken in before B's
    b_intake_s: float  # from sending B's start until its row was made


def _fair_share(svc: Any, conn: Any, client: Any, payload: dict[str, Any], *, steps: int, rounds: int) -> FairShare:
    """B's latency alone, then B's behind tenant A's backlog of runs sent just before it (cap 2 each); on the
    recommended layout: `steps` step processes and one intake process."""
    env = {"CAMPAIGN_TENANT_MAX_RUNNING": "2"}
    with ExitStack() as stack:
        for queues, procs in ((SPLIT[1][0][0], steps), (SPLIT[1][1][0], 1)):
            stack.enter_context(Worker(svc, concurrency=procs, queues=queues, env=env)).start(client)
        wait_runs(conn, [start_run(client, uuid.uuid4(), payload)], timeout_s=120)  # warm-up
        b_alone = [_latency(conn, client, uuid.uuid4(), payload) for _ in range(rounds)]
        tenant_a = uuid.uuid4()
        backlog = [start_run(client, tenant_a, payload) for _ in range(A_BACKLOG)]
        t0, sent = time.perf_counter(), time.time()
        b_run = start_run(client, uuid.uuid4(), payload)
        b_behind = wait_runs(conn, [b_run], timeout_s=600, interval_s=0.003) - t0
        # B has completed, so its row exists: when it was made, and how many of A's were made before it.
        a_before_b, b_created = conn.execute(
            "SELECT (SELECT count(*) FROM app.runs a WHERE a.id = ANY(%s) AND a.created_at < b.created_at), "
            "b.created_at FROM app.runs b WHERE b.id = %s",
            (backlog, b_run),
        ).fetchone()
        # A's backlog is not part of the measurement: once every start is in, end it so the workers stop at once.
        wait_for(lambda: _rows(conn, backlog) == A_BACKLOG, timeout_s=120, what="A's starts to be taken in")
        conn.execute("UPDATE app.runs SET status = 'cancelled' WHERE id = ANY(%s) AND status IN "
                     "('queued', 'pending', 'running')", (backlog,))  # fmt: skip
    return FairShare(b_alone, b_behind, int(a_before_b), b_created.timestamp() - sent)


def _rows(conn: Any, ids: list[uuid.UUID]) -> int:
    (n,) = conn.execute("SELECT count(*) FROM app.runs WHERE id = ANY(%s)", (ids,)).fetchone() or (0,)
    return int(n)


def _latency(conn: Any, client: Any, tenant: uuid.UUID, payload: dict[str, Any], timeout_s: float = 120) -> float:
    t0 = time.perf_counter()
    run_id = start_run(client, tenant, payload)
    return wait_runs(conn, [run_id], timeout_s=timeout_s, interval_s=0.003) - t0
