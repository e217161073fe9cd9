"""A refused campaign.start_run/resume_run fails with JSON any Celery client reads: code and {path, message}s."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
import redis
from celery import Celery
from sqlalchemy.orm import Session, sessionmaker

from context.runs import RunRepository
from pipeline.steps import DEFAULT_GRAPH
from tests.worker_fixtures import RunStarter, WorkerProcess, wait_for_run

NOOP = {"steps": {step_id: {"noop": True} for step_id, _ in DEFAULT_GRAPH}}


def raw_failure(celery_client: Celery, redis_url: str, task: str, args: list[Any]) -> dict[str, Any]:
    """Send the task and read its result exactly as stored in Redis: what a Node or Go client gets."""
    result = celery_client.send_task(task, args=args)
    with pytest.raises(Exception):  # noqa: B017  (the Python rebuild of the error is not what is tested)
        result.get(timeout=30)
    meta = json.loads(redis.Redis.from_url(redis_url).get(f"celery-task-meta-{result.id}") or b"{}")
    assert meta["status"] == "FAILURE"
    [refusal] = meta["result"]["exc_message"]
    assert isinstance(refusal, dict)
    return refusal


def test_a_bad_payload_is_refused_with_every_json_path_and_no_run_is_created(
    celery_client: Celery, redis_url: str, worker: WorkerProcess, pg_sessions: sessionmaker[Session]
) -> None:
    tenant, run_id = uuid.uuid4(), uuid.uuid4()
    body = {
        "tenantId": str(tenant),
        "runId": str(run_id),
        "payload": {"steps": {"bgm": {"tempo_bpm": "fast"}, "sparkles": {}}},
    }

    refusal = raw_failure(celery_client, redis_url, "campaign.start_run", [body])

    assert refusal["code"] == "invalid_request" and refusal["exitCode"] == 2
    paths = {e["path"]: e["message"] for e in refusal["errors"]}
    assert set(paths) == {"payload.steps.bgm.tempo_bpm", "payload.steps.sparkles"}
    assert "valid integer" in paths["payload.steps.bgm.tempo_bpm"]
    with pg_sessions() as s:
        assert RunRepository(s).get(run_id, tenant_id=tenant) is None


def test_a_malformed_request_names_its_fields(celery_client: Celery, redis_url: str, worker: WorkerProcess) -> None:
    refusal = raw_failure(celery_client, redis_url, "campaign.start_run", [{"tenantId": "me", "colour": 1}])

    assert refusal["code"] == "invalid_request"
    assert {e["path"] for e in refusal["errors"]} == {"tenantId", "colour"}


def test_another_tenant_s_run_is_refused_exactly_like_a_missing_one(
    celery_client: Celery,
    redis_url: str,
    start_run: RunStarter,
    pg_sessions: sessionmaker[Session],
) -> None:
    owner = uuid.uuid4()
    base = start_run(owner, NOOP)
    run, _ = wait_for_run(pg_sessions, base, owner)
    assert run.status == "completed", run.error
    intruder = str(uuid.uuid4())

    other_tenant = raw_failure(
        celery_client, redis_url, "campaign.start_run", [{"tenantId": intruder, "baseRunId": str(base)}]
    )
    missing = raw_failure(
        celery_client, redis_url, "campaign.start_run", [{"tenantId": intruder, "baseRunId": str(uuid.uuid4())}]
    )
    resumed = raw_failure(celery_client, redis_url, "campaign.resume_run", [str(base), intruder])

    assert other_tenant == missing
    assert other_tenant == {
        "code": "not_found",
        "exitCode": 3,
        "message": "baseRunId: run not found",
        "errors": [{"path": "baseRunId", "message": "run not found"}],
    }
    assert resumed["code"] == "not_found" and resumed["errors"] == [{"path": "runId", "message": "run not found"}]


def test_resuming_a_completed_run_is_refused_as_invalid_state(
    celery_client: Celery, redis_url: str, start_run: RunStarter, pg_sessions: sessionmaker[Session]
) -> None:
    tenant = uuid.uuid4()
    run_id = start_run(tenant, NOOP)
    run, _ = wait_for_run(pg_sessions, run_id, tenant)
    assert run.status == "completed", run.error

    refusal = raw_failure(celery_client, redis_url, "campaign.resume_run", [str(run_id), str(tenant)])

    assert refusal["code"] == "invalid_state"
    assert "nothing to resume" in refusal["errors"][0]["message"]
