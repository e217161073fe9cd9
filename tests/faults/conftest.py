"""Fault tests get their own Redis database (or server) and their own workers, which they kill and restart."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.services import RedisServer


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer.started(tmp_path)
    yield server
    server.kill()


@pytest.fixture
def unique_name() -> str:
    return f"fault-{uuid.uuid4().hex[:6]}"
