"""Engines for the runs store: PostgreSQL only, with every connection bounded in time.

A database that refuses is easy: the driver raises at once. A database that goes silent (a proxy or failover that
accepts connections and answers nothing) raises nothing by itself, so every connection carries four bounds: a
connect timeout, TCP keepalives and a TCP user timeout (a dead peer), server-side statement and idle-in-transaction
timeouts (a stuck query or a forgotten transaction), and a client-side wait bound on every round trip (a peer whose
kernel still acknowledges but whose server never answers). Each raises OperationalError, which callers treat as an
outage: retried, then left to the sweeper.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

SCHEMA = "app"
SQLITE_REFUSAL = (
    "SQLite is no longer supported: unset CAMPAIGN_DATABASE_URL for the embedded PostgreSQL, "
    "or set it to postgresql://user@host:5432/db"
)


def unsupported_database(scheme: str) -> str:
    """Why a database URL of `scheme` is refused, in one line saying what to use."""
    if scheme.startswith("sqlite"):
        return SQLITE_REFUSAL
    return f"{scheme!r} is not a supported database: use postgresql://user@host:5432/db"


class Base(DeclarativeBase):
    pass


@dataclass(frozen=True)
class Timeouts:
    """How long the engine waits on the database before it calls it an outage (seconds)."""

    connect_s: float = 5
    statement_s: float = 30
    # Above the statement timeout: the server's own timeout answers first when the server is there at all.
    wait_s: float = 40
    keepalive_idle_s: int = 10

    def connect_args(self) -> dict[str, Any]:
        return {
            "connect_timeout": max(1, round(self.connect_s)),
            "keepalives": 1,
            "keepalives_idle": self.keepalive_idle_s,
            "keepalives_interval": max(1, self.keepalive_idle_s // 3),
            "keepalives_count": 3,
            "tcp_user_timeout": int(self.wait_s * 1000),
            "options": f"-c statement_timeout={int(self.statement_s * 1000)} "
            f"-c idle_in_transaction_session_timeout={int(self.wait_s * 1000)}",
        }


class BoundedConnection(psycopg.Connection[Any]):
    """A psycopg connection whose every round trip gives up after `wait_s`: silence becomes an OperationalError."""

    wait_s: float | None = None

    def wait(self, gen: Any, interval: float = 0.1, timeout: float | None = None) -> Any:
        try:
            return super().wait(gen, interval=interval, timeout=timeout if timeout is not None else self.wait_s)
        except pg_errors._WaitTimeout as e:
            # Mid-protocol: the connection cannot be reused. Closing it makes SQLAlchemy invalidate the pool.
            self.pgconn.finish()
            raise psycopg.OperationalError(f"the database did not answer within {self.wait_s:g} s") from e


def make_engine(url: str, timeouts: Timeouts | None = None, **kwargs: Any) -> Engine:
    """An engine for a PostgreSQL `url`, every connection bounded by `timeouts`."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise ValueError(unsupported_database(parsed.get_backend_name()))
    bounds = timeouts or Timeouts()
    # No pre-ping: a dead pooled connection raises OperationalError, which invalidates the pool, and every
    # caller (step tasks, sweeper) retries on it; a ping would cost a round trip on every checkout.
    engine = create_engine(url, connect_args=bounds.connect_args(), **kwargs)
    connection_class: type[BoundedConnection] = type("Bounded", (BoundedConnection,), {"wait_s": bounds.wait_s})

    @event.listens_for(engine, "do_connect")
    def _bounded(_dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
        return connection_class.connect(*cargs, **cparams)

    return engine


def autocommit_engine(url: str, timeouts: Timeouts | None = None) -> Engine:
    """An engine whose connections are always in autocommit: each statement its own transaction (the ledger's
    single-call rules, context.ledger.autocommit_ledger). Set once per connection, not at every checkout, and no
    rollback when a connection goes back to the pool: there is no transaction to end."""
    return make_engine(url, timeouts, isolation_level="AUTOCOMMIT", pool_reset_on_return=None)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
