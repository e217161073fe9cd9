"""What the sweeper knows of the broker: whether it lost its messages, and which queues hold messages.

A step waiting in a queue that holds messages is waiting, not lost: the broker keeps it until a worker takes it.
A step whose message the broker lost cannot be seen waiting, and Redis loses messages only as a whole (a restart
without persistence, a flush, a failover to an empty replica): a key written once per broker incarnation tells
when. Its value is the database time it was first seen missing: steps sent before it may be lost and are resent.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

import redis
from celery import Celery
from kombu.exceptions import ChannelError

log = logging.getLogger(__name__)

INCARNATION_KEY = "campaign:broker:incarnation"


def lost_before(client: redis.Redis | None, db_now: datetime) -> datetime | None:
    """When the broker last came back empty (database time), or None when it cannot lose messages unnoticed."""
    if client is None:
        return None  # the in-memory broker of the embedded mode dies with the process that runs the steps
    value = client.get(INCARNATION_KEY)
    if value is None:
        client.set(INCARNATION_KEY, db_now.isoformat(), nx=True)  # the first sweeper to notice names the time
        value = client.get(INCARNATION_KEY)
        log.warning("the broker has no incarnation key: steps sent before now are resent", extra={"at": str(value)})
    return datetime.fromisoformat(value.decode() if isinstance(value, bytes) else str(value))


def queues_holding_messages(app: Celery, queues: Iterable[str]) -> set[str]:
    """The queues among `queues` that hold at least one message (any priority), asked of the broker itself."""
    return {queue for queue, count in queue_depths(app, queues).items() if count}


def queue_depths(app: Celery, queues: Iterable[str], connect_timeout_s: float | None = None) -> dict[str, int]:
    """How many messages each of `queues` holds (every priority), asked of the broker itself; with
    `connect_timeout_s`, one connection attempt bounded by it (a scrape must not hang on a broker that is down)."""
    depths = {}
    with app.connection_for_read() as conn:
        if connect_timeout_s is not None:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0.2, timeout=connect_timeout_s)
        channel = conn.default_channel
        for queue in queues:
            try:
                _, count, _ = channel.queue_declare(queue=queue, passive=True)
            except ChannelError:  # Redis keeps no key for an empty queue: a passive declare finds none
                count = 0
            depths[queue] = int(count)
    return depths
