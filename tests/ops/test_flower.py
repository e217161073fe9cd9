"""A real Flower process beside the real worker: it shows a campaign's tasks, and only to who logs in."""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from celery import Celery
from sqlalchemy.orm import Session, sessionmaker

from pipeline.steps import DEFAULT_GRAPH
from tests.services import wait_for
from tests.worker_fixtures import ROOT, WorkerProcess, wait_for_run, worker_env

pytestmark = pytest.mark.services

USER, PASSWORD = "user", "pw"
RUN_TASKS = {f"campaign.{step_id}" for step_id, _ in DEFAULT_GRAPH}


@dataclass
class Flower:
    url: str
    proc: subprocess.Popen[bytes]
    log_path: Path

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(url: str, auth: tuple[str, str] | None = (USER, PASSWORD), timeout_s: float = 5) -> tuple[int, bytes]:
    request = urllib.request.Request(url)
    if auth is not None:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def answers(flower: Flower) -> bool:
    if flower.proc.poll() is not None:
        raise RuntimeError(f"flower exited with {flower.proc.returncode}; log: {flower.log_text()}")
    try:
        return get(f"{flower.url}/healthcheck", timeout_s=1)[0] == 200
    except OSError:
        return False


def tasks_seen(flower: Flower) -> dict[str, dict[str, Any]]:
    status, body = get(f"{flower.url}/api/tasks")
    assert status == 200, body[:500]
    tasks = json.loads(body)
    assert isinstance(tasks, dict)
    return tasks


@pytest.fixture(scope="module")
def flower(
    worker: WorkerProcess,
    app_pg_url: str,
    redis_url: str,
    artifact_root: Path,
    celery_client: Celery,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Flower]:
    """The read-only Flower (as compose runs it) on a free localhost port, watching the session worker's Redis db."""
    port = free_port()
    env = {k: v for k, v in worker_env(app_pg_url, redis_url, artifact_root).items() if not k.startswith("FLOWER_")}
    auth_file = tmp_path_factory.mktemp("secrets") / "flower_basic_auth"
    auth_file.write_text(f"{USER}:{PASSWORD}\n", encoding="utf-8")
    env["FLOWER_BASIC_AUTH_FILE"] = str(auth_file)  # a Docker secret's file, as compose mounts it
    log_path = tmp_path_factory.mktemp("logs") / "flower.log"
    cmd = [sys.executable, "-m", "cli.flower_readonly", "--address=127.0.0.1", f"--port={port}"]
    with log_path.open("ab") as log:
        proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    running = Flower(f"http://127.0.0.1:{port}", proc, log_path)
    try:
        wait_for(lambda: answers(running), timeout_s=30, what="flower to answer on /healthcheck", interval_s=0.2)
        _wait_until_flower_receives_events(running, celery_client)
        yield running
    finally:
        _stop(proc)


def _wait_until_flower_receives_events(flower: Flower, client: Celery) -> None:
    """Events sent before Flower's event queue is bound are lost: probe with a built-in task until one shows."""
    probes: list[str] = []

    def seen() -> bool:
        probes.append(client.send_task("celery.accumulate", args=[1]).id)
        deadline = time.monotonic() + 1
        while time.monotonic() < deadline:
            if set(probes) & set(tasks_seen(flower)):
                return True
            time.sleep(0.1)
        return False

    wait_for(seen, timeout_s=30, what="flower to see task events from the worker")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def test_flower_shows_every_task_of_a_campaign_run_as_succeeded(
    flower: Flower, celery_client: Celery, pg_sessions: sessionmaker[Session]
) -> None:
    tenant, run_id = uuid.uuid4(), uuid.uuid4()
    body = {"tenantId": str(tenant), "runId": str(run_id), "payload": {"brief": "Pop the balloons"}}
    celery_client.send_task("campaign.start_run", args=[body])
    run, _ = wait_for_run(pg_sessions, run_id, tenant)
    assert run.status == "completed", run.error

    def of_this_run() -> dict[str, str]:
        """Task name -> state, for the tasks whose kwargs name this run (a step's retries would repeat a name)."""
        states: dict[str, str] = {}
        for task in tasks_seen(flower).values():
            if f"'run_id': '{run_id}'" in str(task.get("kwargs")):
                name = str(task.get("name"))
                states[name] = "SUCCESS" if states.get(name) == "SUCCESS" else str(task.get("state"))
        return states

    # The worker sends task-succeeded events as tasks finish; Flower may read the last ones a moment later.
    wait_for(
        lambda: all(of_this_run().get(name) == "SUCCESS" for name in RUN_TASKS),
        timeout_s=30,
        what="flower to show every task of the run as SUCCESS",
        interval_s=0.25,
    )
    states = of_this_run()
    assert {name: states[name] for name in RUN_TASKS} == dict.fromkeys(RUN_TASKS, "SUCCESS")
    assert "campaign.step_failed" not in states  # no step's error callback ran


@pytest.mark.parametrize(
    "auth",
    [None, (USER, "wrong"), ("someone-else", PASSWORD)],
    ids=["without credentials", "with a wrong password", "with an unknown user"],
)
def test_flower_refuses_api_requests_without_the_right_credentials(
    flower: Flower, auth: tuple[str, str] | None
) -> None:
    for path in ("/api/tasks", "/api/workers", "/", "/metrics", "/healthcheck", "/static/css/flower.css", "/nope"):
        status, _ = get(f"{flower.url}{path}", auth=auth)
        assert status == 401, path


def post(url: str, body: bytes = b"{}") -> int:
    token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    request = urllib.request.Request(url, data=body, method="POST", headers={"Authorization": f"Basic {token}"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as e:
        return e.code


def test_flower_is_read_only_even_for_its_users_no_task_sent_no_worker_stopped(
    flower: Flower, celery_client: Celery
) -> None:
    status, body = get(f"{flower.url}/api/workers?status=1")
    assert status == 200
    nodes = list(json.loads(body))
    assert nodes
    tenant, run_id = uuid.uuid4(), uuid.uuid4()
    start = json.dumps({"args": [{"tenantId": str(tenant), "runId": str(run_id), "payload": {"brief": "x"}}]})
    calls = [f"/api/worker/shutdown/{nodes[0]}", f"/api/worker/pool/shrink/{nodes[0]}",
             "/api/task/async-apply/campaign.start_run", "/api/task/send-task/campaign.start_run",
             "/api/task/revoke/0", "/api/task/rate-limit/campaign.plan"]  # fmt: skip
    assert {call: post(f"{flower.url}{call}", start.encode()) for call in calls} == dict.fromkeys(calls, 403)
    assert get(f"{flower.url}/metrics")[0] == 200  # reading stays open to its users
    # The worker still answers, and the refused start never reached it.
    assert celery_client.control.ping(destination=[nodes[0]], timeout=5)
    assert not any(str(run_id) in str(task.get("args")) for task in tasks_seen(flower).values())
