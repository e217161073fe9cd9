"""Submitting against a broker no worker reads, or none at all: idempotency under concurrency, readiness, outages."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import redis

from tests.api.conftest import NOOP, ApiServer, Tenant, api_env, new_tenant


@pytest.fixture
def idle_api(
    app_pg_url: str, fault_redis_url: str, artifact_root: Path, tmp_path: Path
) -> Iterator[tuple[ApiServer, Tenant]]:
    """An API on a Redis database no worker reads: every start message it sends stays there to be counted."""
    tenant = new_tenant()
    server = ApiServer(api_env(app_pg_url, fault_redis_url, artifact_root, [tenant]), tmp_path / "api.log")
    server.start()
    yield server, tenant
    server.stop()


def test_concurrent_posts_with_repeated_idempotency_keys_make_one_run_per_key(
    idle_api: tuple[ApiServer, Tenant], fault_redis_url: str
) -> None:
    server, tenant = idle_api
    unique = [uuid.uuid4().hex for _ in range(100)]
    repeated = [uuid.uuid4().hex for _ in range(50)]
    keys = unique + repeated + repeated  # 200 requests, 150 distinct keys

    def post(key: str) -> tuple[str, int, str]:
        # As a client with an idempotency key does: a 503 (the database did not answer within its bound, which a
        # loaded host can make happen to a few of 200 requests at once) is sent again with the same key.
        with httpx.Client(base_url=server.url, timeout=60) as http:
            for _ in range(5):
                answer = http.post(
                    "/v1/runs", json={"payload": NOOP}, headers={**tenant.headers, "Idempotency-Key": key}
                )
                if answer.status_code != 503:
                    break
                time.sleep(float(answer.headers.get("Retry-After", "1")))
            return key, answer.status_code, answer.json().get("id", answer.text)

    with ThreadPoolExecutor(max_workers=50) as pool:
        answers = list(pool.map(post, keys))

    assert {status for _, status, _ in answers} == {202}, [a for a in answers if a[1] != 202][:3]
    run_of: dict[str, set[str]] = {}
    for key, _, run_id in answers:
        run_of.setdefault(key, set()).add(run_id)
    assert all(len(runs) == 1 for runs in run_of.values())  # a repeated key answered its one run both times
    assert len({run_id for _, _, run_id in answers}) == 150
    broker = redis.Redis.from_url(fault_redis_url)
    # kombu keeps each priority of the intake queue in its own list: `celery`, `celery\x06\x163`, ...
    sent = sum(int(broker.llen(name)) for name in broker.keys("celery*") if broker.type(name) == b"list")
    assert sent == 150


def test_readyz_answers_503_naming_what_is_down_while_healthz_stays_ok(
    app_pg_url: str, artifact_root: Path, tmp_path: Path
) -> None:
    from tests.services import free_port

    dead_broker = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    tenant = new_tenant()
    server = ApiServer(api_env(app_pg_url, dead_broker, artifact_root, [tenant]), tmp_path / "api.log")
    server.start()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            ready = http.get("/readyz")
            health = http.get("/healthz")
            key = {**tenant.headers, "Idempotency-Key": "k1"}
            # The key is released when the send fails: the retry tries again instead of answering a run never sent.
            posts = [http.post("/v1/runs", json={"payload": NOOP}, headers=key) for _ in range(2)]
    finally:
        server.stop()

    assert ready.status_code == 503
    assert ready.json()["checks"]["database"] == "ok" and ready.json()["checks"]["broker"].startswith("unreachable")
    assert health.status_code == 200
    for post in posts:
        assert post.status_code == 503, post.text
        assert post.json()["code"] == "unavailable" and post.json()["errors"][0]["path"] == "broker"
        assert post.headers["Retry-After"] == "1"  # a client with an idempotency key sends it again
