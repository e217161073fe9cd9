"""The hop-overhead baseline: a bare Celery app running a canvas of the campaign's shape with plain tasks.

Same broker and result backend (its own queue), the same Celery settings as tasks/app.py, the same levels
(single tasks, chords of group + merge, then persist). The tasks only pass the context document along; the
last one writes it into a JSONB column with raw psycopg. What the campaign run costs above this is the
project's own per-hop work.
"""

from __future__ import annotations

import time
from functools import cache
from typing import Any

import psycopg
from celery import Celery, chain, chord, group
from celery.canvas import Signature
from celery.signals import worker_process_init
from psycopg.types.json import Jsonb

from context.settings import Settings
from pipeline.graph import StepGraph
from pipeline.steps import default_steps

QUEUE = "bench_bare"
TABLE = "bench_bare_runs"
TABLE_DDL = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    id uuid PRIMARY KEY,
    status text NOT NULL,
    doc jsonb,
    started_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz
)
"""

settings = Settings()  # the same CAMPAIGN_* variables the project's worker reads
app = Celery("bench-bare", broker=settings.broker_url, backend=settings.backend_url)
_transport: dict[str, float] = {"visibility_timeout": settings.visibility_timeout_s}
app.conf.update(  # tasks/app.py's settings, so only the task bodies differ
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    result_accept_content=["json"],
    event_serializer="json",
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    broker_transport_options=_transport,
    result_backend_transport_options=_transport,
    result_expires=settings.result_expires_s,
    worker_send_task_events=True,
    task_send_sent_event=True,
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
    task_default_queue=QUEUE,
)


@cache
def _db() -> psycopg.Connection[Any]:
    return psycopg.connect(settings.database_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)


@cache
def _levels() -> list[list[str]]:
    return StepGraph(default_steps()).levels


@worker_process_init.connect
def _after_fork(**_: Any) -> None:
    _db.cache_clear()  # a connection opened before the fork must not be shared by the children


@app.task(name="bare.start")
def start(run_id: str, doc: dict[str, Any], path: list[tuple[str, float]] | None = None) -> str:
    """Run the campaign-shaped canvas; with `path` ([step, seconds] pairs), only a chain of those steps."""
    _db().execute(f"INSERT INTO {TABLE} (id, status) VALUES (%s, 'running')", (run_id,))
    canvas = build_canvas(run_id) if path is None else build_chain(run_id, path)
    canvas.apply_async(args=(doc,))
    return run_id


@app.task(name="bare.step")
def step(doc: dict[str, Any], *, run_id: str, step: str, sleep_s: float = 0) -> dict[str, Any]:
    if sleep_s:
        time.sleep(sleep_s)  # stands for the service call, as the profiled generators do
    return doc


@app.task(name="bare.merge")
def merge(branches: list[dict[str, Any]], *, run_id: str) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for branch in branches:
        merged.update(branch)
    return merged


@app.task(name="bare.persist")
def persist(doc: dict[str, Any], *, run_id: str) -> str:
    _db().execute(
        f"UPDATE {TABLE} SET doc = %s, status = 'completed', finished_at = now() WHERE id = %s", (Jsonb(doc), run_id)
    )
    return run_id


def build_canvas(run_id: str) -> Signature:
    links: list[Signature] = []
    for level in _levels():
        if len(level) == 1:
            links.append(step.s(run_id=run_id, step=level[0]))
        else:
            links.append(chord(group(step.s(run_id=run_id, step=s) for s in level), merge.s(run_id=run_id)))
    links.append(persist.s(run_id=run_id))
    return chain(*links)


def build_chain(run_id: str, path: list[tuple[str, float]]) -> Signature:
    """The least any Celery engine pays along a path: one plain task per step, each sleeping as long as it."""
    return chain(*[step.s(run_id=run_id, step=s, sleep_s=t) for s, t in path], persist.s(run_id=run_id))
