"""The API's own connections: its queries (idempotency, listings, the event log) and its LISTEN connection.

A pool apart from the client functions' (tasks.worker.resources): a request holds its idempotency key's
transaction open while `tasks.client.submit` takes a connection of its own, and two pools cannot deadlock
on each other the way one exhausted pool would.
"""

from __future__ import annotations

from functools import cache

from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from context.db import make_engine, session_factory
from context.settings import database_url
from tasks.app import settings


@cache
def api_engine() -> Engine:
    # Sized for the threadpool (40 requests at once) plus the event streams' short reads.
    return make_engine(database_url(settings), settings.timeouts, pool_size=10, max_overflow=40, pool_timeout=10)


def api_sessions() -> sessionmaker[Session]:
    return session_factory(api_engine())


def libpq_dsn() -> str:
    """The database URL as psycopg connects to it directly (for LISTEN)."""
    url = make_url(database_url(settings))
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def require_postgresql() -> None:
    """The API's tables, row-level security and LISTEN exist on PostgreSQL only."""
    if make_url(database_url(settings)).get_backend_name() != "postgresql":  # the embedded default is one too
        raise RuntimeError("the HTTP API needs PostgreSQL: set CAMPAIGN_DATABASE_URL=postgresql://...")
