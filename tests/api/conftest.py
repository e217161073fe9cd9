"""A real `campaign api` (uvicorn) on a free port, over the session's PostgreSQL, Redis and worker."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.services import free_port, wait_for
from tests.worker_fixtures import ROOT, WorkerProcess, worker_env

METRICS_KEY = "metrics-" + uuid.uuid4().hex


@dataclass
class Tenant:
    id: uuid.UUID
    key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


class ApiServer:
    """`python -m cli api` as a subprocess, started here and stopped by its PID."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env, self.log_path = env, log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.log = self.log_path.open("ab")
        cmd = [sys.executable, "-m", "cli", "api", "--host", "127.0.0.1", "--port", str(self.port)]
        self.proc = subprocess.Popen(cmd, env=self.env, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT)
        wait_for(self._up, timeout_s=30, what=f"the API on port {self.port}")

    def _up(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise RuntimeError(f"the API exited with {self.proc.returncode}: {self.log_path.read_text()[-3000:]}")
        try:
            return httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.log.close()


def api_env(pg_url: str, redis_url: str, artifact_root: Path, tenants: list[Tenant], **extra: str) -> dict[str, str]:
    keys = {t.key: str(t.id) for t in tenants}
    return worker_env(
        pg_url,
        redis_url,
        artifact_root,
        CAMPAIGN_API_KEYS=json.dumps(keys),
        CAMPAIGN_METRICS_KEYS=json.dumps([METRICS_KEY]),
        **extra,
    )


def new_tenant() -> Tenant:
    return Tenant(uuid.uuid4(), "key-" + uuid.uuid4().hex)


@pytest.fixture(scope="session")
def tenants() -> list[Tenant]:
    return [new_tenant(), new_tenant(), new_tenant()]


@pytest.fixture(scope="session")
def api(
    app_pg_url: str,
    redis_url: str,
    artifact_root: Path,
    worker: WorkerProcess,
    tenants: list[Tenant],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ApiServer]:
    """The API as the RLS-bound role, on the shared worker's broker."""
    server = ApiServer(
        api_env(app_pg_url, redis_url, artifact_root, tenants), tmp_path_factory.mktemp("api") / "api.log"
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture
def http(api: ApiServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api.url, timeout=30) as client:
        yield client


NOOP = {"steps": {step: {"noop": True} for step in (
    "plan", "intro_image", "intro_video", "button_segmentation", "bgm", "sfx", "audio_manifest", "game_config",
    "game_bundle", "outcome_win_video", "outcome_lose_video", "campaign_manifest",
)}}  # fmt: skip


def wait_until_finished(http: httpx.Client, run_id: str, tenant: Tenant, timeout_s: float = 120) -> dict[str, object]:
    """Poll GET /v1/runs/{id} until the run is completed, failed or cancelled."""
    seen: dict[str, object] = {}

    def finished() -> bool:
        answer = http.get(f"/v1/runs/{run_id}", headers=tenant.headers)
        if answer.status_code == 200:
            seen.update(answer.json())
        return seen.get("status") in ("completed", "failed", "cancelled")

    wait_for(finished, timeout_s=timeout_s, what=f"run {run_id} to finish", interval_s=0.1)
    return seen
