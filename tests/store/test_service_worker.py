"""The service generator in a real worker: retries follow the step's policy and Retry-After; 4xx fail the run."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest
import redis
from celery import Celery
from sqlalchemy.orm import Session, sessionmaker

from context.models import CampaignContext
from context.runs import Run, RunStep
from pipeline.service_generator import idempotency_key
from tests.generation_service import TOKEN, GenerationService
from tests.s3_server import S3Server
from tests.services import RedisServer, empty_redis
from tests.worker_fixtures import WorkerProcess, client_app, wait_for_run, worker_env


@pytest.fixture(scope="module")
def service_worker(
    app_pg_url: str,
    session_redis: RedisServer,
    s3_server: S3Server,
    generation_service: GenerationService,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Celery]:
    """One worker for the module (its tests use distinct tenants and payloads, so distinct keys)."""
    bucket, tmp_path = s3_server.new_bucket(), tmp_path_factory.mktemp("service-worker")
    # worker_env's retry policy: 2 retries, backoff at most 1 s.
    url = session_redis.url_for(4)  # apart from the shared worker's database
    empty_redis(url)
    client = client_app(url)
    services = {"bgm": {"url": generation_service.url, "auth_env": "BGM_SERVICE_TOKEN", "timeout_s": 5}}
    env = worker_env(
        app_pg_url,
        url,
        tmp_path / "artifacts",
        CAMPAIGN_ARTIFACT_URL=f"s3://{bucket}/svc",
        CAMPAIGN_SERVICES=json.dumps(services),
        BGM_SERVICE_TOKEN=TOKEN,
        **s3_server.env(),
    )
    proc = WorkerProcess(env, tmp_path / "worker.log")
    proc.start(client)
    try:
        yield client
    finally:
        proc.stop()
        client.close()
        redis.Redis.from_url(url).flushdb()


def _run(client: Celery, sessions: sessionmaker[Session], bgm: dict[str, object]) -> tuple[Run, dict[str, RunStep]]:
    tenant, run_id = uuid.uuid4(), uuid.uuid4()
    payload = {"brief": "Tap the drums", "steps": {"bgm": bgm}}
    client.send_task("campaign.start_run", args=[{"tenantId": str(tenant), "runId": str(run_id), "payload": payload}])
    return wait_for_run(sessions, run_id, tenant, timeout_s=90)


def _bgm_key(run: Run) -> str:
    ctx = CampaignContext.model_validate(run.context)
    assert ctx.computed is not None
    return idempotency_key(ctx.run_id, "bgm", ctx.computed.input_hashes_by_step["bgm"])


def test_a_rate_limited_step_waits_the_retry_after_then_completes_paying_once(
    service_worker: Celery, pg_sessions: sessionmaker[Session], generation_service: GenerationService
) -> None:
    run, _ = _run(service_worker, pg_sessions, {"scenario": "rate_limited", "fail_times": 1, "retry_after": "3"})

    assert run.status == "completed", run.error
    key = _bgm_key(run)
    posts = [c for c in generation_service.calls_for(key) if c.method == "POST"]
    assert [c.status for c in posts] == [429, 200]
    # The step's own backoff is at most 1 s here: a gap of 3 s is the service's Retry-After, honoured.
    assert posts[1].at - posts[0].at >= 2.9
    assert generation_service.state.paid[key] == 1
    bgm = next(a for a in CampaignContext.model_validate(run.context).artifacts.values() if a.type == "bgm")
    assert bgm.uri.startswith("s3://") and bgm.metadata and bgm.metadata["service"] == generation_service.url


def test_a_4xx_fails_the_run_with_the_service_s_message(
    service_worker: Celery, pg_sessions: sessionmaker[Session]
) -> None:
    run, _ = _run(service_worker, pg_sessions, {"scenario": "reject"})

    assert run.status == "failed"
    assert run.failed_step == "bgm"
    assert run.error == "step bgm failed: service answered 422: the prompt breaks the content policy"


def test_5xx_past_the_step_s_retries_fails_the_run_naming_the_service_s_answer(
    service_worker: Celery, pg_sessions: sessionmaker[Session], generation_service: GenerationService
) -> None:
    run, _ = _run(service_worker, pg_sessions, {"scenario": "flaky", "fail_times": 10})

    assert run.status == "failed"
    assert run.error == "gave up after 2 retries: step bgm: service answered 500: GPU fell over"
