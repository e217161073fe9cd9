"""Fixtures for real services: a migrated PostgreSQL database per test session, sessions on it."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from context.db import make_engine, session_factory
from context.migrations import upgrade
from context.registry import ReferenceTypeRegistry
from context.settings import REPO_CONFIG
from tests.services import (
    create_database,
    create_managed_owner,
    drop_database,
    drop_role,
    sqlalchemy_url,
    sqlalchemy_url_as,
)

pytest_plugins = ["tests.worker_fixtures"]
_OWN_BASETEMP = pytest.StashKey[Path]()


def pytest_configure(config: pytest.Config) -> None:
    """Temporary folders of this session's own, outside /tmp/pytest-of-<user>.

    Every pytest session that starts resets that shared folder to mode 0700; the embedded PostgreSQL the `campaign`
    tests start runs as a system user that must pass through it, so a second suite (or a helper's pytest) starting
    beside this one made that user's initdb fail. A folder no other session touches keeps the traversal it is given.
    xdist's workers inherit the controller's basetemp (as basetemp/gwN)."""
    if config.option.basetemp is None and not hasattr(config, "workerinput"):
        config.option.basetemp = tempfile.mkdtemp(prefix="campaign-pytest-")
        config.stash[_OWN_BASETEMP] = Path(config.option.basetemp)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    own = session.config.stash.get(_OWN_BASETEMP, None)
    if own is not None and exitstatus == 0:  # a failed session's folders stay for reading
        shutil.rmtree(own, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, created by and migrated as a role like a managed
    PostgreSQL's admin (CREATEROLE, no SUPERUSER, no BYPASSRLS): the URL logs in as that owner, which row-level
    security binds like any worker, so every query of the suite must name its tenant."""
    owner = create_managed_owner()
    name = create_database(owner=owner)
    url = sqlalchemy_url_as(name, owner)
    upgrade(url)
    yield url
    drop_database(name)
    drop_role(owner)


@pytest.fixture(scope="session")
def pg_admin_url(pg_url: str) -> str:
    """The same database as the cluster's superuser: for test set-up that must see or do what no tenant may."""
    return sqlalchemy_url(make_url(pg_url).database or "")


@pytest.fixture(scope="session")
def pg_engine(pg_admin_url: str) -> Iterator[Engine]:
    """The test database as the cluster's superuser: tests inspect and set up rows of any tenant through it."""
    engine = make_engine(pg_admin_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def owner_sessions(pg_url: str) -> Iterator[sessionmaker[Session]]:
    """Sessions as the database's owner, the managed admin role: row-level security binds it (FORCE), as workers."""
    engine = make_engine(pg_url)
    yield session_factory(engine)
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


@pytest.fixture(scope="session")
def pg_admin_sessions(pg_sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    """Sessions as the cluster's superuser (the same as pg_sessions): named for what tests use them for."""
    return pg_sessions


# Two tiers, chosen by what a test uses, not by hand: a test is `slow` when it needs a process of its own (a Celery
# worker, a redis-server, a `campaign` subprocess, Chromium, Node, a wheel build, docker), `fast` otherwise (pure
# code, PostgreSQL, the CLI in-process). `pytest -m fast` is the quick tier, `pytest -m slow` the rest.
SLOW_FIXTURES = {"worker", "celery_client", "session_redis", "redis_server", "deployment_factory"}
# Names whose presence in a test module means its tests start processes.
SLOW_NAMES = {"subprocess", "WorkerProcess", "RedisServer", "campaign", "sync_playwright", "Deployment"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        module = getattr(item, "module", None)
        starts_processes = module is not None and not SLOW_NAMES.isdisjoint(vars(module))
        uses_processes = not SLOW_FIXTURES.isdisjoint(getattr(item, "fixturenames", ()))
        item.add_marker(pytest.mark.slow if starts_processes or uses_processes else pytest.mark.fast)
