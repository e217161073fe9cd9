"""Run events: PostgreSQL NOTIFY on every status change, and Celery messages on the configured events queue."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from celery import Celery
from jsonschema import Draft202012Validator
from kombu import Connection
from sqlalchemy.orm import Session, sessionmaker

from pipeline.steps import DEFAULT_GRAPH
from tests.services import RedisServer, empty_redis
from tests.worker_fixtures import ROOT, RunStarter, WorkerProcess, client_app, wait_for_run, worker_env

EVENT_SCHEMA = Draft202012Validator(json.loads((ROOT / "docs" / "schema" / "event.schema.json").read_text()))
NOOP = {"steps": {step_id: {"noop": True} for step_id, _ in DEFAULT_GRAPH}}
EVENTS_DB = 9  # a database of the session's own redis-server that no other fixture uses


def listen(pg_url: str) -> psycopg.Connection[Any]:
    conn = psycopg.connect(pg_url.replace("+psycopg", ""), autocommit=True)
    conn.execute("LISTEN campaign_run_events")
    return conn


def notified(
    conn: psycopg.Connection[Any], run_id: uuid.UUID, until: str, timeout_s: float = 60
) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for note in conn.notifies(timeout=0.5, stop_after=1):
            event = json.loads(note.payload)
            if event["runId"] == str(run_id):
                events.append(event)
                if event["kind"] == until:
                    return events
    raise AssertionError(f"no {until} event for run {run_id}; got {events}")


def test_every_status_change_is_notified_with_the_event_schema(
    pg_url: str, start_run: RunStarter, pg_sessions: sessionmaker[Session]
) -> None:
    tenant = uuid.uuid4()
    with listen(pg_url) as conn:
        run_id = start_run(tenant, NOOP)
        events = notified(conn, run_id, "completed")

    assert [e["kind"] for e in events] == ["queued", "running", "completed"]
    assert all(e["tenantId"] == str(tenant) for e in events)
    for event in events:
        assert list(EVENT_SCHEMA.iter_errors(event)) == [], event


def test_a_failure_is_notified_with_its_step_and_reason(
    pg_url: str, start_run: RunStarter, pg_sessions: sessionmaker[Session]
) -> None:
    tenant = uuid.uuid4()
    with listen(pg_url) as conn:
        run_id = start_run(tenant, {"steps": {**NOOP["steps"], "bgm": {"fail": "permanent"}}})
        events = notified(conn, run_id, "failed")

    failed = events[-1]
    assert failed["status"] == "failed" and failed["step"] == "bgm"
    assert "simulated permanent failure" in failed["reason"]
    assert list(EVENT_SCHEMA.iter_errors(failed)) == []


@pytest.fixture
def events_worker(
    session_redis: RedisServer, app_pg_url: str, artifact_root: Path, tmp_path: Path
) -> Iterator[tuple[WorkerProcess, Celery, str, str]]:
    """A worker of its own on its own Redis db, publishing events to a queue of its own."""
    url = session_redis.url_for(EVENTS_DB)
    empty_redis(url)
    queue = f"campaign-events-{uuid.uuid4().hex[:8]}"
    client = client_app(url)
    proc = WorkerProcess(worker_env(app_pg_url, url, artifact_root, CAMPAIGN_EVENTS_QUEUE=queue), tmp_path / "w.log")
    proc.start(client)
    yield proc, client, url, queue
    proc.stop()
    client.close()


def drain(url: str, queue: str) -> list[tuple[str, Any]]:
    """(task name, payload) of every message on the queue, as a consumer of any language would receive them."""
    received = []
    with Connection(url) as conn, conn.SimpleQueue(queue) as messages:
        while True:  # Redis drops an emptied list, so drain by reading until nothing comes
            try:
                message = messages.get(timeout=2)
            except messages.Empty:
                break
            received.append((message.headers["task"], message.payload))
            message.ack()
    return received


def test_events_are_sent_as_celery_task_messages_to_the_configured_queue(
    events_worker: tuple[WorkerProcess, Celery, str, str], pg_sessions: sessionmaker[Session]
) -> None:
    _, client, url, queue = events_worker
    tenant, run_id = uuid.uuid4(), uuid.uuid4()
    client.send_task("campaign.start_run", args=[{"tenantId": str(tenant), "runId": str(run_id), **{"payload": NOOP}}])
    run, _ = wait_for_run(pg_sessions, run_id, tenant)
    assert run.status == "completed", run.error

    received = drain(url, queue)

    assert {task for task, _ in received} == {"campaign.run_event"}
    events = [args[0] for _, (args, kwargs, _) in received]
    for event in events:
        assert list(EVENT_SCHEMA.iter_errors(event)) == [], event
    kinds = [e["kind"] for e in events if e["runId"] == str(run_id)]
    assert kinds[:2] == ["queued", "running"] and kinds[-1] == "completed"
    finished = {e["step"] for e in events if e["kind"] == "step_finished"}
    assert finished == {step_id for step_id, _ in DEFAULT_GRAPH}


def test_a_failed_run_sends_one_failed_event_naming_the_step(
    events_worker: tuple[WorkerProcess, Celery, str, str], pg_sessions: sessionmaker[Session]
) -> None:
    _, client, url, queue = events_worker
    tenant, run_id = uuid.uuid4(), uuid.uuid4()
    # Two steps of one level fail: the run fails once, and says so once.
    steps = {**NOOP["steps"], "bgm": {"fail": "permanent"}, "sfx": {"fail": "permanent"}}
    client.send_task(
        "campaign.start_run", args=[{"tenantId": str(tenant), "runId": str(run_id), "payload": {"steps": steps}}]
    )
    run, _ = wait_for_run(pg_sessions, run_id, tenant)
    assert run.status == "failed"
    time.sleep(1)  # the other branch's failure, if any, lands after the row says failed

    events = [args[0] for _, (args, _, _) in drain(url, queue)]
    failed = [e for e in events if e["kind"] == "failed" and e["runId"] == str(run_id)]
    assert len(failed) == 1, failed
    assert failed[0]["step"] in {"bgm", "sfx"} and "simulated permanent failure" in failed[0]["reason"]
