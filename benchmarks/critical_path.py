"""Critical path: with a realistic step profile (scaled down 100x), a run's latency against the graph's critical path.

Level barriers would cost the sum of each level's slowest step; following the graph costs the longest
path through it. Enough worker slots (-c 8) that no step waits for a process. The floor: a bare Celery chain of
the critical path's steps, same sleeps, same broker and settings: what any Celery engine pays for those hops.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from benchmarks.bare_tasks import QUEUE, TABLE, TABLE_DDL
from benchmarks.harness import STEP_IDS, Worker, client_app, services, start_run, wait_runs
from benchmarks.stats import Row, summarize
from pipeline.graph import StepGraph
from pipeline.steps import default_steps

NAME = "critical_path"
TARGET = 1.05
SCALE = 100
SLOWER_SCALE = 10
# Seconds in production (the profile); the rest take under 1 s.
PROFILE_S = {"plan": 5, "intro_image": 10, "intro_video": 40, "button_segmentation": 3, "bgm": 20, "sfx": 8,
             "outcome_win_video": 40, "outcome_lose_video": 40}  # fmt: skip
OTHER_S = 0.5
PROCS = 8


def durations(scale: float = SCALE) -> dict[str, float]:
    return {step: PROFILE_S.get(step, OTHER_S) / scale for step in STEP_IDS}


def profile_payload(scale: float = SCALE) -> dict[str, Any]:
    """A run payload whose no-op steps sleep the profile's durations, scaled down `scale` times."""
    return {"steps": {step: {"sleep_s": seconds} for step, seconds in durations(scale).items()}}


def critical_path_s(graph: StepGraph, cost: dict[str, float]) -> tuple[float, list[str]]:
    """The longest path through the graph, by step durations, and its steps."""
    finish: dict[str, tuple[float, list[str]]] = {}
    for step in graph.step_ids:  # graph order: producers first
        spec = graph[step]
        before = max((finish[graph.producer_of(t)] for t in spec.reads), default=(0.0, []), key=lambda f: f[0])
        finish[step] = (before[0] + cost[step], [*before[1], step])
    return max(finish.values(), key=lambda f: f[0])


def run(*, quick: bool, deadline: float | None = None) -> list[Row]:
    rounds = 3 if quick else 7
    graph = StepGraph(default_steps())
    cost = durations()
    critical, path = critical_path_s(graph, cost)
    levels = sum(max(cost[s] for s in level) for level in graph.levels)
    payload = profile_payload()
    chain_path = [(step, cost[step]) for step in path]
    with services("critical") as svc, svc.connect() as conn:
        conn.execute(TABLE_DDL)
        client = client_app(svc.redis_url)
        tenant = uuid.uuid4()
        bare = Worker(svc, app="benchmarks.bare_tasks", queues=QUEUE, concurrency=2)
        with Worker(svc, concurrency=PROCS).start(client), bare.start(client):
            wait_runs(conn, [start_run(client, tenant)])  # warm-up: connections, imports in every process
            wait_runs(conn, [start_run(client, tenant, payload)])
            _bare_latency_s(conn, client, chain_path)
            profiled, noop, floor_s = [], [], []
            for _ in range(rounds):  # interleaved, so a slow moment of the machine hits all three alike
                profiled.append(_latency_s(conn, client, tenant, payload))
                noop.append(_latency_s(conn, client, tenant, {}))
                floor_s.append(_bare_latency_s(conn, client, chain_path))
            slower = profile_payload(SLOWER_SCALE)  # the same hops under 10x longer steps
            slower_s = [_latency_s(conn, client, tenant, slower) for _ in range(1 if quick else 3)]
        client.close()
    floor_row = Row(NAME, "bare Celery chain of the critical path (the floor)", "s latency", summarize(floor_s))
    floor_row.baseline = f"critical path {critical:.3f} s"
    floor_row.ratio = floor_row.summary.median / critical
    over_floor = summarize(profiled).median / floor_row.summary.median
    floor_row.note = (f"{len(path)} plain tasks sleeping the same durations: the hops any Celery engine adds; "
                      f"the campaign run is {over_floor:.2f}x this")  # fmt: skip
    row = Row(NAME, f"profile / {SCALE}, -c {PROCS}", "s latency", summarize(profiled))
    row.baseline = f"critical path {critical:.3f} s ({' -> '.join(path)})"
    row.ratio, row.target = row.summary.median / critical, TARGET
    floor = summarize(noop).median
    row.note = (f"level barriers would take {levels:.3f} s ({levels / critical:.2f}x); a no-op run (the engine's "
                f"own cost for 12 hops) takes {floor:.3f} s")  # fmt: skip
    row.extra = {"critical_path_s": critical, "levels_s": levels, "noop_run_s": floor, "path": path}
    noop_row = Row(NAME, f"no-op run, -c {PROCS} (the floor)", "s latency", summarize(noop))
    noop_row.note = f"{len(path)} steps on the critical path; per-hop cost ≈ {floor / len(path) * 1000:.0f} ms"
    slower_critical, _ = critical_path_s(graph, durations(SLOWER_SCALE))
    slower_row = Row(NAME, f"profile / {SLOWER_SCALE}, -c {PROCS}", "s latency", summarize(slower_s))
    slower_row.baseline = f"critical path {slower_critical:.2f} s"
    slower_row.ratio = slower_row.summary.median / slower_critical
    over = (slower_row.summary.median - slower_critical) * 1000
    slower_row.note = (
        f"{over:.0f} ms over the critical path (at / {SCALE}: "
        f"{(row.summary.median - critical) * 1000:.0f} ms): a cost per hop, not per second of step"
    )
    return [row, floor_row, noop_row, slower_row]


def _bare_latency_s(conn: Any, client: Any, path: list[tuple[str, float]]) -> float:
    t0 = time.perf_counter()
    run_id = uuid.uuid4()
    client.send_task("bare.start", args=[str(run_id), {}, path], queue=QUEUE)
    return wait_runs(conn, [run_id], table=TABLE, interval_s=0.003) - t0


def _latency_s(conn: Any, client: Any, tenant: uuid.UUID, payload: dict[str, Any]) -> float:
    t0 = time.perf_counter()
    run_id = start_run(client, tenant, payload)
    return wait_runs(conn, [run_id], interval_s=0.003) - t0
