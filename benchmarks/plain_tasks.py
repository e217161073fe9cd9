"""The plain-chain baseline: a campaign run as a Celery user would first write it, on the campaign worker's settings.

Thirteen tasks in one chain: twelve each add their step's artifact (id, type, uri, hash, metadata, createdAt,
stepId) and ref to a JSON dict passed along the chain, the thirteenth writes that dict into a PostgreSQL row.
No ledger, no step graph, no reuse, no checks, no tenant scope: what any Celery engine pays for 13 hops and a
write. The app takes every setting of tasks.app (serializers, acks, prefetch, transport options, events, ...)
except its queues and schedule, so only the tasks differ from the campaign worker's.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from functools import cache
from typing import Any

import psycopg
from celery import Celery, chain
from celery.canvas import Signature
from celery.signals import worker_process_init
from psycopg.types.json import Jsonb

from context.registry import ref_name_for
from context.settings import get_settings
from pipeline.steps import DEFAULT_GRAPH
from tasks.app import app as campaign_app

QUEUE = "bench_plain"
TABLE = "bench_plain_runs"
TABLE_DDL = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    id uuid PRIMARY KEY,
    status text NOT NULL,
    doc jsonb,
    finished_at timestamptz NOT NULL DEFAULT now()
)
"""
STEP_IDS = [step_id for step_id, _ in DEFAULT_GRAPH]
# Where messages go and what runs on a schedule, not how a task runs: this app has its own queue and no beat.
_ROUTING = {"task_default_queue", "task_queues", "task_routes", "beat_schedule", "include", "imports"}

app = Celery("bench-plain")
app.conf.update({k: v for k, v in campaign_app.conf.changes.items() if k not in _ROUTING}, task_default_queue=QUEUE)


@cache
def _db() -> psycopg.Connection[Any]:
    url = get_settings().database_url.replace("postgresql+psycopg://", "postgresql://")
    return psycopg.connect(url, autocommit=True)


@worker_process_init.connect
def _after_fork(**_: Any) -> None:
    _db.cache_clear()  # a connection opened before the fork must not be shared by the children


@app.task(name="plain.add", ignore_result=True)
def add(doc: dict[str, Any], *, run_id: str, step: str) -> dict[str, Any]:
    """Add the step's artifact and ref, as a step that made a file would."""
    artifact_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{run_id}/{step}"))
    digest = hashlib.sha256(artifact_id.encode()).hexdigest()
    doc["artifacts"][artifact_id] = {
        "type": step,
        "uri": f"file:///var/lib/campaign/artifacts/{digest[:2]}/{digest}",
        "hash": digest,
        "metadata": {"bytes": 20_000},
        "createdAt": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "stepId": step,
    }
    doc["refs"][ref_name_for(step)] = artifact_id
    return doc


@app.task(name="plain.persist", ignore_result=True)
def persist(doc: dict[str, Any], *, run_id: str) -> None:
    _db().execute(f"INSERT INTO {TABLE} (id, status, doc) VALUES (%s, 'completed', %s)", (run_id, Jsonb(doc)))


def plain_chain(client: Celery, run_id: str) -> Signature:
    """The 13-task chain of one run, sent through `client`: one message to the broker, as `campaign.start_run` is."""
    first, *rest = STEP_IDS
    start = {"runId": run_id, "artifacts": {}, "refs": {}}
    links = [client.signature("plain.add", args=(start,), kwargs={"run_id": run_id, "step": first}, queue=QUEUE)]
    links += [client.signature("plain.add", kwargs={"run_id": run_id, "step": s}, queue=QUEUE) for s in rest]
    return chain(*links, client.signature("plain.persist", kwargs={"run_id": run_id}, queue=QUEUE))
