"""Hop overhead against a canvas: a campaign run of no-op steps versus a bare Celery canvas of the same shape.

The canvas is an expensive baseline on purpose: chords (group + merge) at each level, the whole context document
(about 14 KB) carried in every message, task events on. Its ratio says how much the engine adds to such a
Celery setup, not to the cheapest one: `plain_chain` compares the same run with a plain 13-task chain.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import psycopg
from celery import Celery

from benchmarks.bare_tasks import QUEUE, TABLE, TABLE_DDL
from benchmarks.harness import Worker, client_app, services, start_run, wait_runs
from benchmarks.stats import Row, compare, summarize

NAME = "hop_overhead"
TARGET = 1.3
IN_FLIGHT = 50


def run(*, quick: bool, deadline: float | None = None) -> list[Row]:
    rounds, flight_rounds = (4, 2) if quick else (10, 3)
    with services("hop") as svc, svc.connect() as conn:
        conn.execute(TABLE_DDL)
        client = client_app(svc.redis_url)
        tenant = uuid.uuid4()
        with Worker(svc).start(client), Worker(svc, app="benchmarks.bare_tasks", queues=QUEUE).start(client):
            warm = [start_run(client, tenant) for _ in range(2)]
            wait_runs(conn, warm)
            doc = conn.execute("SELECT context FROM app.runs WHERE id = %s", (warm[-1],)).fetchone()[0]
            send_project = lambda: start_run(client, tenant)  # noqa: E731
            send_bare = lambda: _start_bare(client, doc)  # noqa: E731
            wait_runs(conn, [send_bare() for _ in range(2)], table=TABLE)

            project_ms: list[float] = []
            bare_ms: list[float] = []
            for i in range(rounds):  # interleaved, alternating who goes first, so drift hits both alike
                pair = [(send_project, "app.runs", project_ms), (send_bare, TABLE, bare_ms)]
                for send, table, out in pair if i % 2 == 0 else pair[::-1]:
                    out.append(_wall_s(conn, send, 1, table) * 1000)

            project_flight: list[float] = []
            bare_flight: list[float] = []
            for i in range(flight_rounds):
                pair = [(send_project, "app.runs", project_flight), (send_bare, TABLE, bare_flight)]
                for send, table, out in pair if i % 2 == 0 else pair[::-1]:
                    out.append(_wall_s(conn, send, IN_FLIGHT, table) * 1000 / IN_FLIGHT)
        client.close()

    size = len(json.dumps(doc))
    bare_one = Row(NAME, "bare canvas (chords, doc per hop), 1 run", "ms latency", summarize(bare_ms))
    bare_one.note = f"Celery canvas of the graph's shape, the {size} B context in every message"
    project_one = Row(NAME, "campaign run, 1 run", "ms latency", summarize(project_ms), note="start_run → completed")
    bare_n = Row(
        NAME, f"bare canvas (chords, doc per hop), {IN_FLIGHT} in flight", "ms/run (wall÷N)", summarize(bare_flight)
    )
    project_n = Row(NAME, f"campaign run, {IN_FLIGHT} in flight", "ms/run (wall÷N)", summarize(project_flight))
    bare_n.note = f"{1000 / bare_n.summary.median:.1f} runs/s"
    project_n.note = f"{1000 / project_n.summary.median:.1f} runs/s"
    return [
        bare_one,
        compare(project_one, bare_one, target=TARGET),
        bare_n,
        compare(project_n, bare_n, target=TARGET),
    ]


def _start_bare(client: Celery, doc: dict[str, Any]) -> uuid.UUID:
    run_id = uuid.uuid4()
    client.send_task("bare.start", args=[str(run_id), doc], queue=QUEUE)
    return run_id


def _wall_s(conn: psycopg.Connection[Any], send: Callable[[], uuid.UUID], n: int, table: str) -> float:
    t0 = time.perf_counter()
    ids = [send() for _ in range(n)]
    return wait_runs(conn, ids, table=table, interval_s=0.005 if n == 1 else 0.02) - t0
