"""Fair intake: one tenant's burst of starts does not hold back another tenant's start.

Starts wait first come, first served on the intake queue. The sender counts each tenant's starts still waiting
in the broker's Redis (one key per tenant, up on send, down when `campaign.start_run` takes the message) and
sends each at `pipeline.policy.start_priority` of that count. A sender that does not count (a bare Celery
client) sends at priority 0, as before; the worker's decrement never goes below zero, so it skews nothing.

A counter that drifts (a start message lost with its worker, a send that failed after counting) only lowers its
own tenant's priority, and lasts until the tenant has sent nothing and had nothing taken in for COUNT_TTL_S.
"""

from __future__ import annotations

import logging
import uuid
from functools import cache
from typing import Any

import redis
from celery import Celery

from pipeline.policy import START_PRIORITY, start_priority
from tasks.app import settings

log = logging.getLogger(__name__)

KEY_PREFIX = "campaign:intake:"
COUNT_TTL_S = 600
# Down by one, and gone at zero, in one step: two workers taking the last two starts leave no negative count.
_RELEASE = """
local n = redis.call('DECR', KEYS[1])
if n <= 0 then redis.call('DEL', KEYS[1]) else redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return n
"""


class IntakeCounter:
    """How many of each tenant's starts wait in the broker, kept in its Redis."""

    def __init__(self, client: redis.Redis) -> None:
        self._client = client
        self._release = client.register_script(_RELEASE)

    def claim(self, tenant_id: uuid.UUID) -> int:
        """Count one more waiting start of the tenant; returns how many were waiting before it."""
        pipe = self._client.pipeline()
        pipe.incr(_key(tenant_id))
        pipe.expire(_key(tenant_id), COUNT_TTL_S)
        waiting, _ = pipe.execute()
        return int(waiting) - 1

    def release(self, tenant_id: uuid.UUID) -> None:
        """One of the tenant's starts was taken in (or never sent)."""
        self._release(keys=[_key(tenant_id)], args=[COUNT_TTL_S])

    def waiting(self, tenant_id: uuid.UUID) -> int:
        return int(self._client.get(_key(tenant_id)) or 0)


def _key(tenant_id: uuid.UUID) -> str:
    return f"{KEY_PREFIX}{tenant_id}"


def _redis_broker_url() -> str | None:
    url = settings.broker_url
    return url if url and url.startswith(("redis://", "rediss://", "unix://")) else None


@cache
def broker_redis() -> redis.Redis | None:
    """A client of the broker's Redis, or None when the broker is not Redis (the embedded in-memory one)."""
    url = _redis_broker_url()
    return redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5) if url else None


@cache
def broker_counter() -> IntakeCounter | None:
    """The counter in the configured broker's Redis; None in the embedded mode or on another broker."""
    url = _redis_broker_url()
    return IntakeCounter(redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)) if url else None


def send_start(app: Celery, body: dict[str, Any], counter: IntakeCounter | None, **options: Any) -> None:
    """Send `campaign.start_run` with `body` at its tenant's intake priority (START_PRIORITY with no counter)."""
    tenant_id = uuid.UUID(str(body["tenantId"]))
    priority = START_PRIORITY
    if counter is not None:
        try:
            priority = start_priority(counter.claim(tenant_id))
        except redis.ConnectionError:  # the broker is down: the send below reports it, once
            counter = None
        except redis.RedisError as exc:  # fairness is best effort: a start is sent even when it cannot be counted
            log.warning("intake count unavailable, sending at priority %d: %s", priority, exc)
            counter = None
    try:
        app.send_task("campaign.start_run", args=[body], priority=priority, **options)
    except BaseException:
        if counter is not None:
            _release_quietly(counter, tenant_id)
        raise


def taken_in(request_json: object, counter: IntakeCounter | None) -> None:
    """The start task took a message in: count it down. Anything without a valid tenant id was never counted."""
    if counter is None or not isinstance(request_json, dict):
        return
    try:
        tenant_id = uuid.UUID(str(request_json.get("tenantId")))
    except ValueError:
        return
    _release_quietly(counter, tenant_id)


def _release_quietly(counter: IntakeCounter, tenant_id: uuid.UUID) -> None:
    try:
        counter.release(tenant_id)
    except redis.RedisError as exc:
        log.warning("could not count down tenant %s's waiting starts: %s", tenant_id, exc)
