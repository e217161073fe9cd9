"""A real Redis database and a real forking Celery worker (a subprocess), shared by the integration tests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import kombu.exceptions
import pytest
import redis
from celery import Celery
from sqlalchemy.orm import Session, sessionmaker

from context import CampaignContextService, ReferenceTypeRegistry, RunStatus, utc_now_iso
from context.runs import Run, RunRepository, RunStep, utc_now
from tests.services import RedisServer, empty_redis, wait_for

ROOT = Path(__file__).resolve().parents[1]
TERMINAL = {"completed", "failed", "cancelled"}


@pytest.fixture(scope="session")
def session_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A redis-server of this test session's own, on a free port: a second suite on the host never touches it."""
    server = RedisServer.started(tmp_path_factory.mktemp("redis"))
    yield server
    server.kill()


@pytest.fixture(scope="session")
def redis_url(session_redis: RedisServer) -> Iterator[str]:
    """Database 0 of the session's redis-server, for the shared worker."""
    url = session_redis.url_for(0)
    conn = empty_redis(url)
    yield url
    conn.flushdb()


@pytest.fixture
def fault_redis_url(session_redis: RedisServer) -> Iterator[str]:
    """A database of this session's own redis-server, apart from the shared worker's, for a test's own workers."""
    url = session_redis.url_for(1)
    conn = empty_redis(url)
    yield url
    conn.flushdb()


@pytest.fixture(scope="session")
def artifact_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("artifacts")


def worker_env(pg_url: str, redis_url: str, artifact_root: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAMPAIGN_")}
    env.update(
        CAMPAIGN_DATABASE_URL=pg_url,
        CAMPAIGN_BROKER_URL=redis_url,
        CAMPAIGN_RESULT_BACKEND=redis_url,
        CAMPAIGN_ARTIFACT_ROOT=str(artifact_root),
        CAMPAIGN_GENERATORS=json.dumps({"*": "tests.generators:dispatch"}),
        CAMPAIGN_STEP_MAX_RETRIES="2",
        CAMPAIGN_RETRY_BACKOFF_MAX_S="1",
        PYTHONPATH=str(ROOT),
    )
    env.update(extra)  # a test's own settings win over these defaults
    return env


def fast_policy(soft_s: float, hard_s: float, **per_step: dict[str, Any]) -> str:
    """CAMPAIGN_STEP_POLICY with short time limits for every step (so short visibility timeouts are allowed)."""
    from pipeline.steps import DEFAULT_GRAPH

    policy = {step: {"soft_time_limit_s": soft_s, "time_limit_s": hard_s} for step, _ in DEFAULT_GRAPH}
    for step, fields in per_step.items():
        policy[step] = {**policy[step], **fields}
    return json.dumps(policy)


def client_app(redis_url: str) -> Celery:
    """A bare Celery client, as any non-Python-importing client would be: it only knows task names."""
    app = Celery("test-client", broker=redis_url, backend=redis_url)
    app.conf.update(task_serializer="json", result_serializer="json", accept_content=["json"])
    return app


class WorkerProcess:
    """A `celery worker` subprocess, started here and stopped by its PID."""

    def __init__(
        self,
        env: dict[str, str],
        log_path: Path,
        concurrency: int = 2,
        name: str | None = None,
        cwd: Path = ROOT,
        *,
        queues: str | None = None,
        beat: bool = False,
    ) -> None:
        self.env, self.log_path, self.concurrency, self.cwd = env, log_path, concurrency, cwd
        self.name = name or f"test-{uuid.uuid4().hex[:6]}"
        self.queues, self.beat = queues, beat
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, client: Celery) -> None:
        cmd = [sys.executable, "-m", "celery", "-A", "tasks.app", "worker", "-c", str(self.concurrency), "-l", "INFO",
               "-n", f"{self.name}@%h", "--without-gossip", "--without-mingle"]  # fmt: skip
        if self.queues:
            cmd += ["-Q", self.queues]
        if self.beat:  # Celery beat inside this worker, as the compose `beat` service would run it
            cmd += ["-B", "-s", str(self.log_path.with_suffix(".beat"))]
        self.log = self.log_path.open("ab")
        # Its own session: the worker and its pool children form one process group we can kill together.
        self.proc = subprocess.Popen(
            cmd, env=self.env, cwd=self.cwd, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )
        wait_for(lambda: self._answers(client), timeout_s=60, what=f"worker {self.name} to answer a ping")

    def _answers(self, client: Celery) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise RuntimeError(f"worker exited with {self.proc.returncode}; log: {self.log_path.read_text()[-3000:]}")
        try:
            replies = client.control.ping(destination=[f"{self.name}@{os.uname().nodename}"], timeout=0.5)
        except (OSError, redis.ConnectionError, kombu.exceptions.OperationalError):
            return False  # a pooled connection that died with a restarted Redis: the next try opens a new one
        return bool(replies)

    def kill_hard(self) -> None:
        """SIGKILL the worker and its pool children (the process group it leads), as a crashed host would."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        self.log.close()

    def exited(self) -> bool:
        return self.proc is not None and self.proc.poll() is not None

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout_s: float = 60) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.kill(self.proc.pid, sig)
        try:
            self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.log.close()


@pytest.fixture(scope="session")
def celery_client(redis_url: str) -> Iterator[Celery]:
    app = client_app(redis_url)
    yield app
    app.close()


@pytest.fixture(scope="session")
def app_pg_url(pg_url: str) -> str:
    """What workers and the CLI log in as: the database's owner, a managed PostgreSQL's admin role (CREATEROLE, no
    SUPERUSER, no BYPASSRLS), which row-level security binds (FORCE), so every query must name its tenant."""
    return pg_url


@pytest.fixture(scope="session")
def worker(
    app_pg_url: str,
    redis_url: str,
    artifact_root: Path,
    celery_client: Celery,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[WorkerProcess]:
    """The shared worker; it reaches PostgreSQL as an RLS-bound role, so every query must name its tenant."""
    log_path = tmp_path_factory.mktemp("logs") / "worker.log"
    proc = WorkerProcess(worker_env(app_pg_url, redis_url, artifact_root), log_path)
    proc.start(celery_client)
    yield proc
    proc.stop()


RunStarter = Callable[..., uuid.UUID]


@pytest.fixture
def start_run(celery_client: Celery, worker: WorkerProcess) -> RunStarter:
    """Send `campaign.start_run` with plain JSON, as the TypeScript service would."""

    def start(tenant: uuid.UUID, payload: dict[str, Any] | None = None, **fields: Any) -> uuid.UUID:
        run_id = fields.pop("runId", None) or uuid.uuid4()
        body = {"tenantId": str(tenant), "runId": str(run_id), "payload": payload or {}, **fields}
        celery_client.send_task("campaign.start_run", args=[body])
        return uuid.UUID(str(run_id))

    return start


def wait_for_run(
    sessions: sessionmaker[Session], run_id: uuid.UUID, tenant: uuid.UUID, timeout_s: float = 120
) -> tuple[Run, dict[str, RunStep]]:
    """Poll the run row until it is completed, failed or cancelled."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with sessions() as s:
            repo = RunRepository(s)
            run = repo.get(run_id, tenant_id=tenant)
            if run is not None and run.status in TERMINAL:
                return run, {step.step_id: step for step in repo.steps(run_id, tenant_id=tenant)}
        time.sleep(0.1)
    raise TimeoutError(f"run {run_id} did not finish within {timeout_s}s")


def left_behind(
    sessions: sessionmaker[Session],
    registry: ReferenceTypeRegistry,
    tenant: uuid.UUID,
    *,
    sweeps: int = 0,
    running: str | None = None,
    status: RunStatus = RunStatus.PENDING,
) -> uuid.UUID:
    """A run whose lease ran out an hour ago: with `running`, that step was running when its worker died (no
    heartbeat since); without, nothing of it is in flight (its first send was lost). With status `queued`, a run
    whose start message never came (epoch 0, no lease)."""
    run_id = uuid.uuid4()
    ctx = CampaignContextService(registry).create(
        campaign_id=str(uuid.uuid4()),
        run_id=str(run_id),
        workflow_name="campaign",
        trigger={"type": "api", "timestamp": utc_now_iso(), "payload": {"brief": "left behind"}},
    )
    an_hour_ago = utc_now() - timedelta(hours=1)
    with sessions() as s, s.begin():
        RunRepository(s).add(
            Run(id=run_id, tenant_id=tenant, campaign_id=uuid.UUID(ctx.campaign_id), workflow_name="campaign",
                status=status.value, context=ctx.to_json_dict(), updated_at=an_hour_ago, sweeps=sweeps,
                lease_expires_at=None if status == RunStatus.QUEUED else an_hour_ago,
                epoch=0 if status == RunStatus.QUEUED else 1)
        )  # fmt: skip
        if running:
            s.add(RunStep(run_id=run_id, step_id=running, tenant_id=tenant, outcome="running", attempts=1, epoch=1,
                          dispatched_epoch=1, updated_at=an_hour_ago))  # fmt: skip
    return run_id
