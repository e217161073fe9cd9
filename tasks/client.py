"""Start runs and follow them: what the CLI (and any Python caller) uses; the embedded worker lives here."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from celery.contrib.testing.worker import start_worker

from context.runs import Run, RunRepository, RunStatus, RunStep
from context.tenancy import tenant_scope
from pipeline.launch import RunRequest, validate_request
from tasks.app import app, settings
from tasks.worker import resources

TERMINAL = {RunStatus.COMPLETED.value, RunStatus.FAILED.value}


@dataclass(frozen=True)
class RunSnapshot:
    run: Run
    steps: list[RunStep]

    @property
    def done(self) -> bool:
        return self.run.status in TERMINAL


def submit(request: RunRequest) -> uuid.UUID:
    """Validate (tenant, base run, step names) then enqueue `campaign.start_run`; nothing is sent on error."""
    res = resources()
    with tenant_scope(request.tenant_id):
        validate_request(request, service=res.service, graph=res.graph)
    app.send_task("campaign.start_run", args=[request.to_json()])
    return request.run_id


def snapshot(run_id: uuid.UUID, tenant_id: uuid.UUID) -> RunSnapshot | None:
    with resources().sessions() as session:
        repo = RunRepository(session)
        run = repo.get(run_id, tenant_id=tenant_id)
        return None if run is None else RunSnapshot(run, repo.steps(run_id, tenant_id=tenant_id))


def wait(
    run_id: uuid.UUID,
    tenant_id: uuid.UUID,
    *,
    timeout_s: float = 600,
    on_update: Callable[[RunSnapshot], None] = lambda _: None,
    poll_s: float = 0.2,
) -> RunSnapshot:
    """Poll the run row until it is completed or failed; the row, not the result backend, is the record."""
    deadline = time.monotonic() + timeout_s
    while True:
        snap = snapshot(run_id, tenant_id)
        if snap is not None:
            on_update(snap)
            if snap.done:
                return snap
        if time.monotonic() > deadline:
            raise TimeoutError(f"run {run_id} did not finish within {timeout_s:.0f}s")
        time.sleep(poll_s)


@contextmanager
def embedded_worker(concurrency: int = 4) -> Iterator[None]:
    """A worker thread pool in this process, on the in-memory broker: the same tasks and canvas, no servers."""
    if not settings.embedded:
        raise RuntimeError("embedded_worker needs the embedded mode (no CAMPAIGN_BROKER_URL)")
    resources()
    with start_worker(app, pool="threads", concurrency=concurrency, perform_ping_check=False, loglevel="WARNING"):
        yield
