"""Fair intake on real Redis and a real intake worker: one tenant's burst of starts does not hold back another's."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from celery import Celery
from kombu.exceptions import OperationalError
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from pipeline.policy import INTAKE_BURST
from tasks.intake import COUNT_TTL_S, KEY_PREFIX, IntakeCounter, send_start, taken_in
from tests.services import free_port, wait_for
from tests.worker_fixtures import WorkerProcess, client_app, worker_env

NOOP = {"steps": {"plan": {"noop": True}}}


@pytest.fixture
def client(fault_redis_url: str) -> Iterator[Celery]:
    app = client_app(fault_redis_url)
    yield app
    app.close()


@pytest.fixture
def counter(fault_redis_url: str) -> IntakeCounter:
    return IntakeCounter(redis.Redis.from_url(fault_redis_url))


def _body(tenant: uuid.UUID) -> dict[str, object]:
    return {"tenantId": str(tenant), "runId": str(uuid.uuid4()), "payload": NOOP}


def test_the_count_goes_up_per_send_down_per_start_taken_in_and_never_below_zero(
    counter: IntakeCounter, fault_redis_url: str
) -> None:
    tenant, other = uuid.uuid4(), uuid.uuid4()

    before = [counter.claim(tenant) for _ in range(3)]
    other_before = counter.claim(other)
    ttl = redis.Redis.from_url(fault_redis_url).ttl(f"{KEY_PREFIX}{tenant}")
    taken_in({"tenantId": str(tenant)}, counter)
    after_one = counter.waiting(tenant)
    for _ in range(4):  # one more than was counted: a bare client's start, or a redelivery
        taken_in({"tenantId": str(tenant)}, counter)
    taken_in({"tenantId": "not a uuid"}, counter)
    taken_in(["not", "a", "request"], counter)

    assert before == [0, 1, 2] and other_before == 0
    assert 0 < ttl <= COUNT_TTL_S  # a drifted count does not last for ever
    assert after_one == 2
    assert counter.waiting(tenant) == 0 and counter.claim(tenant) == 0
    assert counter.waiting(other) == 1


def test_a_start_that_could_not_be_sent_is_not_left_counted(counter: IntakeCounter) -> None:
    tenant = uuid.uuid4()
    unreachable = client_app(f"redis://127.0.0.1:{free_port()}/0")
    try:
        with pytest.raises(OperationalError):
            send_start(unreachable, _body(tenant), counter, retry_policy={"max_retries": 0}, ignore_result=True)
    finally:
        unreachable.close()

    assert counter.waiting(tenant) == 0


def test_a_start_that_cannot_be_counted_is_still_sent_at_priority_zero_with_a_warning(
    client: Celery, counter: IntakeCounter, fault_redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    tenant = uuid.uuid4()
    conn = redis.Redis.from_url(fault_redis_url)
    conn.rpush(f"{KEY_PREFIX}{tenant}", "not a count")  # INCR on a list: a Redis error that is not an outage

    send_start(client, _body(tenant), counter)

    assert conn.llen("celery") == 1  # the base list: priority 0
    assert "intake count unavailable, sending at priority 0" in caplog.text


def test_a_tenants_single_start_is_taken_in_before_another_tenants_burst_sent_ahead_of_it(
    app_pg_url: str,
    fault_redis_url: str,
    client: Celery,
    counter: IntakeCounter,
    pg_sessions: sessionmaker[Session],
    tmp_path: Path,
) -> None:
    tenant_a, tenant_b = uuid.uuid4(), uuid.uuid4()
    a_ids = []
    for _ in range(120):  # all waiting before the intake worker starts: first come, first served would take B last
        body = _body(tenant_a)
        send_start(client, body, counter)
        a_ids.append(uuid.UUID(str(body["runId"])))
    b_body = _body(tenant_b)
    send_start(client, b_body, counter)
    waiting_at_send = counter.waiting(tenant_a), counter.waiting(tenant_b)
    intake = WorkerProcess(worker_env(app_pg_url, fault_redis_url, tmp_path / "artifacts"), tmp_path / "intake.log",
                           1, f"intake-{uuid.uuid4().hex[:4]}", queues="celery")  # fmt: skip
    intake.start(client)
    try:
        count = text("SELECT count(*) FROM app.runs WHERE tenant_id IN (:a, :b)")

        def all_in() -> bool:
            with pg_sessions() as s:
                return int(s.execute(count, {"a": tenant_a, "b": tenant_b}).scalar_one()) == 121

        wait_for(all_in, timeout_s=120, what="every start to be taken in")
        with pg_sessions() as s:
            order = s.execute(
                text("SELECT id, tenant_id FROM app.runs WHERE tenant_id IN (:a, :b) ORDER BY created_at"),
                {"a": tenant_a, "b": tenant_b},
            ).all()
    finally:
        intake.stop()
        with pg_sessions() as s, s.begin():  # leave no backlog for another test's sweeper to admit
            cancel = "UPDATE app.runs SET status = 'cancelled' WHERE tenant_id IN (:a, :b) AND finished_at IS NULL"
            s.execute(text(cancel), {"a": tenant_a, "b": tenant_b})

    b_position = [tenant for _, tenant in order].index(tenant_b)
    assert waiting_at_send == (120, 1)
    assert b_position <= INTAKE_BURST, f"B's start was taken in after {b_position} of A's"
    assert [run_id for run_id, tenant in order if tenant == tenant_a] == a_ids  # A's own order is kept
    assert (counter.waiting(tenant_a), counter.waiting(tenant_b)) == (0, 0)  # the worker counted each one down
