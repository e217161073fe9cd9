"""Fixtures for real services: a migrated PostgreSQL database per test session, sessions on it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from context.db import make_engine, session_factory
from context.migrations import upgrade
from context.registry import ReferenceTypeRegistry
from context.settings import REPO_CONFIG
from tests.services import create_database, drop_database, sqlalchemy_url

pytest_plugins = ["tests.worker_fixtures"]


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, migrated with Alembic."""
    name = create_database()
    url = sqlalchemy_url(name)
    upgrade(url)
    yield url
    drop_database(name)


@pytest.fixture(scope="session")
def pg_engine(pg_url: str) -> Iterator[Engine]:
    engine = make_engine(pg_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def pg_sessions(pg_engine: Engine) -> sessionmaker[Session]:
    return session_factory(pg_engine)


@pytest.fixture(scope="session")
def registry() -> ReferenceTypeRegistry:
    return ReferenceTypeRegistry.from_config(REPO_CONFIG)


@pytest.fixture
def tenant() -> uuid.UUID:
    return uuid.uuid4()
