"""Real PostgreSQL and Redis for the tests: throwaway databases, waiting, clear failures."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg
import redis
from psycopg import sql
from sqlalchemy.engine import make_url

PG_ADMIN_DSN = os.environ.get("CAMPAIGN_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")


def sqlalchemy_url(dbname: str) -> str:
    info = psycopg.conninfo.conninfo_to_dict(PG_ADMIN_DSN)
    host, port, user = info.get("host", "127.0.0.1"), info.get("port", "5432"), info.get("user", "postgres")
    return f"postgresql+psycopg://{user}@{host}:{port}/{dbname}"


def create_database(prefix: str = "campaign_test", *, owner: str | None = None) -> str:
    """A new, empty database (owned by `owner` when given); returns its name."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    try:
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True, connect_timeout=5) as conn:
            create = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
            if owner:
                create += sql.SQL(" OWNER {}").format(sql.Identifier(owner))
            conn.execute(create)
    except psycopg.OperationalError as e:
        raise RuntimeError(f"PostgreSQL is not reachable at {PG_ADMIN_DSN}: {e}") from e
    return name


def drop_database(name: str) -> None:
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def create_managed_owner() -> str:
    """A login role as a managed PostgreSQL's admin is: CREATEROLE, but neither SUPERUSER nor BYPASSRLS."""
    name = f"campaign_owner_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOBYPASSRLS CREATEROLE").format(sql.Identifier(name)))
    return name


def drop_role(name: str) -> None:
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))


def sqlalchemy_url_as(dbname: str, user: str) -> str:
    return make_url(sqlalchemy_url(dbname)).set(username=user).render_as_string(hide_password=False)


def empty_redis(url: str) -> redis.Redis:
    """A client on `url` after emptying its database; a missing Redis fails naming the URL."""
    conn = redis.Redis.from_url(url)
    try:
        conn.ping()
    except redis.ConnectionError as e:
        raise RuntimeError(f"Redis is not reachable at {url}: {e}") from e
    conn.flushdb()
    return conn


def wait_for(predicate: Callable[[], bool], *, timeout_s: float, what: str, interval_s: float = 0.05) -> None:
    """Poll `predicate` until it holds; fail naming `what` when `timeout_s` passes."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval_s)
    raise TimeoutError(f"timed out after {timeout_s}s waiting for {what}")


def free_port() -> int:
    """A TCP port nobody listens on now: two suites on one host never share a server."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PortTakenError(RuntimeError):
    """Our redis-server could not have its port: it exited, or another process's server answers on it."""


class RedisServer:
    """A throwaway redis-server that keeps nothing on disk, started and stopped by its PID."""

    def __init__(self, port: int, workdir: Path) -> None:
        self.port, self.workdir = port, workdir
        self.proc: subprocess.Popen[bytes] | None = None

    def url_for(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    @property
    def url(self) -> str:
        return self.url_for(0)

    def start(self) -> None:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        cmd = [binary, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no",
               "--dir", str(self.workdir)]  # fmt: skip
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(self._up, timeout_s=10, what=f"redis-server on port {self.port}")

    @classmethod
    def started(cls, workdir: Path, attempts: int = 5) -> RedisServer:
        """A server on a free port; a port another suite took between our look and our bind gets a new one."""
        for attempt in range(attempts):
            server = cls(free_port(), workdir)
            try:
                server.start()
                return server
            except PortTakenError:
                if attempt == attempts - 1:
                    raise
        raise AssertionError("unreachable")

    def _up(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise PortTakenError(f"redis-server on port {self.port} exited with {self.proc.returncode}")
        try:
            # Our own process must answer: a server of another suite that won the port would answer the ping too.
            pid = redis.Redis(port=self.port, socket_connect_timeout=0.2).info("server")["process_id"]
        except redis.ConnectionError:
            return False
        if pid != self.proc.pid:
            self.proc.kill()
            self.proc.wait(timeout=10)
            raise PortTakenError(f"port {self.port} is held by another redis-server (pid {pid})")
        return True

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
