"""Plain chain: a campaign run of no-op steps versus a plain Celery chain of 13 tasks doing the same bookkeeping.

The baseline (benchmarks.plain_tasks) is what the engine replaces: 12 tasks each adding an artifact to a JSON
dict passed along, one writing it to PostgreSQL, on a worker with the campaign worker's Celery settings and
concurrency. The campaign side is `campaign.start_run` of a run whose 12 steps are no-ops, done when
`app.runs.status` is `completed`. Both workers run at once (2 processes each); rounds alternate who goes first.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import psycopg
from celery import Celery

from benchmarks.harness import Worker, client_app, services, start_run, wait_runs
from benchmarks.plain_tasks import QUEUE, TABLE, TABLE_DDL, plain_chain
from benchmarks.stats import Row, compare, summarize

NAME = "plain_chain"
TARGET = 1.6
IN_FLIGHT = 50


def run(*, quick: bool, deadline: float | None = None) -> list[Row]:
    rounds, flight_rounds = (4, 2) if quick else (10, 3)
    with services("plain") as svc, svc.connect() as conn:
        conn.execute(TABLE_DDL)
        client = client_app(svc.redis_url)
        tenant = uuid.uuid4()
        with Worker(svc).start(client), Worker(svc, app="benchmarks.plain_tasks", queues=QUEUE).start(client):
            send_campaign = lambda: start_run(client, tenant)  # noqa: E731
            send_plain = lambda: _send_plain(client)  # noqa: E731
            wait_runs(conn, [send_campaign() for _ in range(2)])  # warm-up: imports and connections
            wait_runs(conn, [send_plain() for _ in range(2)], table=TABLE)

            campaign_ms: list[float] = []
            plain_ms: list[float] = []
            for i in range(rounds):
                pair = [(send_campaign, "app.runs", campaign_ms), (send_plain, TABLE, plain_ms)]
                for send, table, out in pair if i % 2 == 0 else pair[::-1]:
                    out.append(_wall_s(conn, send, 1, table) * 1000)

            campaign_flight: list[float] = []
            plain_flight: list[float] = []
            for i in range(flight_rounds):
                pair = [(send_campaign, "app.runs", campaign_flight), (send_plain, TABLE, plain_flight)]
                for send, table, out in pair if i % 2 == 0 else pair[::-1]:
                    out.append(_wall_s(conn, send, IN_FLIGHT, table) * 1000 / IN_FLIGHT)
        client.close()

    plain_one = Row(NAME, "plain Celery chain, 1 run", "ms latency", summarize(plain_ms))
    plain_one.note = "13 tasks: 12 add an artifact to a JSON dict, 1 writes it to PostgreSQL"
    campaign_one = Row(NAME, "campaign no-op run, 1 run", "ms latency", summarize(campaign_ms))
    campaign_one.note = "start_run → completed"
    plain_n = Row(NAME, f"plain Celery chain, {IN_FLIGHT} in flight", "ms/run (wall÷N)", summarize(plain_flight))
    campaign_n = Row(NAME, f"campaign no-op run, {IN_FLIGHT} in flight", "ms/run (wall÷N)", summarize(campaign_flight))
    plain_n.note = f"{1000 / plain_n.summary.median:.1f} runs/s"
    campaign_n.note = f"{1000 / campaign_n.summary.median:.1f} runs/s"
    return [
        plain_one,
        compare(campaign_one, plain_one, target=TARGET),
        plain_n,
        compare(campaign_n, plain_n, target=TARGET),
    ]


def _send_plain(client: Celery) -> uuid.UUID:
    run_id = uuid.uuid4()
    plain_chain(client, str(run_id)).apply_async()
    return run_id


def _wall_s(conn: psycopg.Connection[Any], send: Callable[[], uuid.UUID], n: int, table: str) -> float:
    t0 = time.perf_counter()
    ids = [send() for _ in range(n)]
    return wait_runs(conn, ids, table=table, interval_s=0.005 if n == 1 else 0.02) - t0
