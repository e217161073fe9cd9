"""Engines and schema for the runs store: PostgreSQL in production, an SQLite file embedded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

SCHEMA = "app"


class Base(DeclarativeBase):
    pass


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for `url`; SQLite gets WAL and a busy timeout so parallel steps can write."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        # No pre-ping: a dead pooled connection raises OperationalError, which invalidates the pool, and every
        # caller (step tasks, persist) retries on it; a ping would cost a round trip on every checkout.
        return create_engine(url, **kwargs)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    # SQLite has no schemas: the tables live in the main database under their bare names.
    return engine.execution_options(schema_translate_map={SCHEMA: None})


def ensure_embedded_schema(engine: Engine) -> None:
    """Create the tables on an embedded SQLite database; PostgreSQL goes through Alembic only."""
    if engine.dialect.name == "sqlite":
        import context.runs  # noqa: F401  (registers the tables on Base.metadata)

        Base.metadata.create_all(engine)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
