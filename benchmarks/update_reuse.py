"""Update reuse: worker time of a step that is reused versus one that executes a no-op, from the worker's log.

An update's reused steps are recorded by the driver without a task each (tasks.driver.reuse_inline), so the
per-step figure is the worker time of every task of the update run (its start included) divided by its 12
steps, the same way for both cases.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import psycopg
from celery import Celery

from benchmarks.bare_tasks import QUEUE, TABLE, TABLE_DDL
from benchmarks.documents import context_document
from benchmarks.harness import STEP_IDS, Worker, client_app, services, start_run, task_times, wait_runs
from benchmarks.stats import Row, compare, summarize

NAME = "update_reuse"
TARGET_MS = 5.0
RUN_TASKS = ["campaign.start_run", *(f"campaign.{step}" for step in STEP_IDS)]


def run(*, quick: bool, deadline: float | None = None) -> list[Row]:
    rounds = 3 if quick else 6
    with services("reuse") as svc, svc.connect() as conn:
        client = client_app(svc.redis_url)
        tenant = uuid.uuid4()
        conn.execute(TABLE_DDL)
        with Worker(svc, app="benchmarks.bare_tasks", queues=QUEUE).start(client) as bare:
            doc = context_document(len(STEP_IDS))
            for _ in range(rounds):
                run_id = uuid.uuid4()
                client.send_task("bare.start", args=[str(run_id), doc], queue=QUEUE)
                wait_runs(conn, [run_id], table=TABLE, interval_s=0.01)
            time.sleep(0.2)
            floor_ms = [s * 1000 for _, s in task_times(bare.log_text(), ["bare.step"])]
        with Worker(svc).start(client) as worker:
            base = start_run(client, tenant)
            wait_runs(conn, [base])
            reused_ms: list[float] = []
            executed_ms: list[float] = []
            reused_wall: list[float] = []
            executed_wall: list[float] = []
            problems: list[str] = []
            reused_tasks: list[str] = []
            executed_tasks: list[str] = []
            for i in range(rounds):
                cases: list[tuple[dict[str, Any], list[float], list[float], str]] = [
                    ({"baseRunId": str(base)}, reused_ms, reused_wall, "reused"),
                    ({"baseRunId": str(base), "steps": STEP_IDS}, executed_ms, executed_wall, "executed"),
                ]
                for fields, per_step, walls, outcome in cases if i % 2 == 0 else cases[::-1]:
                    wall, times, outcomes = _update_run(conn, client, worker, tenant, fields)
                    (reused_tasks if outcome == "reused" else executed_tasks)[:] = [name for name, _ in times]
                    walls.append(wall)
                    per_step.append(sum(s for _, s in times) * 1000 / len(STEP_IDS))
                    if len(outcomes) != len(STEP_IDS) or set(outcomes) != {outcome}:
                        problems.append(f"{len(outcomes)} steps, outcomes {sorted(set(outcomes))}")
        client.close()

    executed = Row(NAME, "executed no-op step (forced)", "ms worker time/step (run ÷ 12)", summarize(executed_ms))
    reused = Row(NAME, "reused step (no change)", "ms worker time/step (run ÷ 12)", summarize(reused_ms))
    floor = Row(NAME, "bare Celery step (floor)", "ms worker time/step", summarize(floor_ms))
    floor.note = "an identity task under the same Celery settings: what any step costs here"
    compare(reused, executed)
    reused.target, reused.target_on = TARGET_MS, "value"
    tasks = f"{len(reused_tasks)} task(s) per reused update, {len(executed_tasks)} per forced one"
    reused.note = f"target: under 5 ms each; {tasks}" + (f"; {'; '.join(problems)}" if problems else "")
    executed_run = Row(NAME, "update run, all 12 forced", "s wall", summarize(executed_wall))
    reused_run = Row(NAME, "update run, all 12 reused", "s wall", summarize(reused_wall))
    compare(reused_run, executed_run)
    return [floor, executed, reused, executed_run, reused_run]


def _update_run(
    conn: psycopg.Connection[Any], client: Celery, worker: Worker, tenant: uuid.UUID, fields: dict[str, Any]
) -> tuple[float, list[tuple[str, float]], list[str]]:
    """Run one update; its wall time, its step tasks' worker times (from its slice of the log) and outcomes."""
    offset = worker.log_path.stat().st_size
    t0 = time.perf_counter()
    run_id = start_run(client, tenant, **fields)
    wall = wait_runs(conn, [run_id], interval_s=0.01) - t0
    time.sleep(0.2)  # the last step logs its line after sending persist
    with worker.log_path.open("rb") as f:
        f.seek(offset)
        text = f.read().decode(errors="replace")
    outcomes = [r[0] for r in conn.execute("SELECT outcome FROM app.run_steps WHERE run_id = %s", (run_id,))]
    return wall, task_times(text, RUN_TASKS), outcomes
