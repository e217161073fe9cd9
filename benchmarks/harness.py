"""Real services for the benchmarks: a throwaway PostgreSQL database, a dedicated Redis db, worker subprocesses."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import psycopg
import redis
from celery import Celery

from context.migrations import upgrade
from pipeline.steps import DEFAULT_GRAPH
from tasks.intake import IntakeCounter, send_start
from tests.services import RedisServer, create_database, drop_database, free_port, sqlalchemy_url, wait_for
from tests.worker_fixtures import client_app as client_app  # re-exported for the benchmark modules

ROOT = Path(__file__).resolve().parent.parent
STEP_IDS = [step_id for step_id, _ in DEFAULT_GRAPH]
NOOP_GENERATORS = json.dumps({"*": "pipeline.noop:noop"})
TERMINAL = ("completed", "failed")


@dataclass(frozen=True)
class Services:
    """What one benchmark runs against: a migrated database, an empty Redis db, a scratch directory."""

    pg_url: str  # SQLAlchemy form, for the workers
    pg_dsn: str  # plain libpq form, for raw psycopg
    redis_url: str
    workdir: Path

    def connect(self) -> psycopg.Connection[Any]:
        return psycopg.connect(self.pg_dsn, autocommit=True)


@contextmanager
def services(tag: str) -> Iterator[Services]:
    """Create, migrate, and finally drop a database; a redis-server of its own on a free port, killed after."""
    name = create_database(f"campaign_bench_{tag}")
    url = sqlalchemy_url(name)
    workdir = Path(tempfile.mkdtemp(prefix=f"campaign-bench-{tag}-"))
    redis_server = RedisServer(free_port(), workdir)
    try:
        redis_server.start()
        upgrade(url)
        yield Services(url, url.replace("postgresql+psycopg://", "postgresql://"), redis_server.url, workdir)
    finally:
        redis_server.kill()
        drop_database(name)
        shutil.rmtree(workdir, ignore_errors=True)


def worker_env(svc: Services, root: Path = ROOT, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAMPAIGN_")}
    env.update(
        CAMPAIGN_DATABASE_URL=svc.pg_url,
        CAMPAIGN_BROKER_URL=svc.redis_url,
        CAMPAIGN_RESULT_BACKEND=svc.redis_url,
        CAMPAIGN_ARTIFACT_ROOT=str(svc.workdir / "artifacts"),
        CAMPAIGN_GENERATORS=NOOP_GENERATORS,
        PYTHONPATH=str(root),
    )
    env.update(extra)  # after the defaults, so a benchmark may replace one (CAMPAIGN_GENERATORS, say)
    return env


class Worker:
    """A prefork `celery worker` subprocess logging at INFO to a file, started here and stopped by its PID."""

    def __init__(
        self,
        svc: Services,
        *,
        app: str = "tasks.app",
        concurrency: int = 2,
        queues: str = "",
        env: dict[str, str] | None = None,
        root: Path = ROOT,  # the checkout whose code the worker runs (benchmarks.ab_worker runs another)
    ) -> None:
        self.svc, self.app, self.concurrency, self.queues = svc, app, concurrency, queues
        self.env, self.root = env or {}, root
        self.name = f"bench-{uuid.uuid4().hex[:6]}"
        self.log_path = svc.workdir / f"{self.name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, client: Celery, timeout_s: float = 60) -> Worker:
        cmd = [sys.executable, "-m", "celery", "-A", self.app, "worker", "-P", "prefork", "-c", str(self.concurrency),
               "-l", "INFO", "-n", f"{self.name}@%h"]  # fmt: skip
        cmd += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
        if self.queues:
            cmd += ["-Q", self.queues]
        self._log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            cmd,
            env=worker_env(self.svc, self.root, **self.env),
            cwd=self.root,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        wait_for(lambda: self._answers(client), timeout_s=timeout_s, what=f"worker {self.name} to answer a ping")
        return self

    def _answers(self, client: Celery) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise RuntimeError(f"worker exited with {self.proc.returncode}; log:\n{self.log_text()[-3000:]}")
        return bool(client.control.ping(destination=[f"{self.name}@{os.uname().nodename}"], timeout=0.5))

    def cpu_s(self) -> float:
        """CPU seconds (user + system) the worker has used so far: its main process, its pool children, and the
        children it has already reaped."""
        assert self.proc is not None
        return _cpu_s(self.proc.pid) + sum(_cpu_s(pid) for pid in _children(self.proc.pid))

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout_s: float = 30) -> None:
        """SIGTERM (warm shutdown) to our PID; SIGKILL to it and the pool children we saw if it hangs."""
        if self.proc is None or self.proc.poll() is not None:
            return
        children = _children(self.proc.pid)
        os.kill(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            for pid in [self.proc.pid, *children]:
                with suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self._log.close()

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


_TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_s(pid: int) -> float:
    """utime + stime of `pid`, plus cutime + cstime (its children it has reaped), from /proc/<pid>/stat."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0  # a pool child that exited between listing and reading: its time is in the parent's cutime
    fields = stat[stat.rindex(")") + 2 :].split()  # fields from 3 (state) on: utime is field 14, cstime 17
    return sum(int(f) for f in fields[11:15]) / _TICKS


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def start_run(client: Celery, tenant: uuid.UUID, payload: dict[str, Any] | None = None, **fields: Any) -> uuid.UUID:
    """Send `campaign.start_run` with plain JSON, at the intake priority `campaign run` uses; returns the run id."""
    run_id = uuid.uuid4()
    body = {"tenantId": str(tenant), "runId": str(run_id), "payload": payload or {}, **fields}
    send_start(client, body, _counter(str(client.conf.broker_url)))
    return run_id


@cache
def _counter(broker_url: str) -> IntakeCounter:
    return IntakeCounter(redis.Redis.from_url(broker_url))


def wait_runs(
    conn: psycopg.Connection[Any],
    ids: Sequence[uuid.UUID],
    *,
    table: str = "app.runs",
    timeout_s: float = 120,
    interval_s: float = 0.005,
) -> float:
    """Poll the runs' status until every one is completed; returns perf_counter() when that was seen."""
    deadline = time.monotonic() + timeout_s
    query = f"SELECT status, count(*) FROM {table} WHERE id = ANY(%s) AND status IN ('completed', 'failed') GROUP BY 1"
    id_list = list(ids)
    while time.monotonic() < deadline:
        counts = dict(conn.execute(query, (id_list,)).fetchall())
        if counts.get("failed"):
            row = conn.execute(
                f"SELECT id, error FROM {table} WHERE id = ANY(%s) AND status = 'failed' LIMIT 1", (id_list,)
            ).fetchone()
            raise RuntimeError(f"{counts['failed']} run(s) failed, e.g. {row}")
        if counts.get("completed", 0) == len(id_list):
            return time.perf_counter()
        time.sleep(interval_s)
    raise TimeoutError(f"{len(id_list)} runs in {table} did not all complete within {timeout_s}s")


TASK_LINE = re.compile(r"Task (?P<name>[\w.]+)\[(?P<id>[0-9a-f-]+)\] succeeded in (?P<s>[0-9.eE+-]+)s")


def task_times(log_text: str, names: Iterable[str]) -> list[tuple[str, float]]:
    """(task name, seconds) from the worker's "Task <name>[<id>] succeeded in <s>s" lines, for `names` only."""
    wanted = set(names)
    return [(m["name"], float(m["s"])) for m in TASK_LINE.finditer(log_text) if m["name"] in wanted]
