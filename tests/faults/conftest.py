"""Fault tests get their own Redis database (or server) and their own workers, which they kill and restart."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.services import RedisServer, empty_redis, free_port


@pytest.fixture
def fault_redis_url(session_redis: RedisServer) -> Iterator[str]:
    """A database of this session's own redis-server, apart from the shared worker's."""
    url = session_redis.url_for(1)
    conn = empty_redis(url)
    yield url
    conn.flushdb()


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(free_port(), tmp_path)
    server.start()
    yield server
    server.kill()


@pytest.fixture
def unique_name() -> str:
    return f"fault-{uuid.uuid4().hex[:6]}"
