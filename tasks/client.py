"""Start runs and follow them: what the CLI (and any Python caller) uses; the embedded worker lives here."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from celery.contrib.testing.worker import start_worker

from context.ledger import Ledger
from context.runs import TERMINAL_STATUSES, Run, RunRepository, RunStep, utc_now
from context.service import decode_context
from context.tenancy import tenant_scope
from pipeline.errors import UpdateRequestError
from pipeline.launch import RunRequest, prepare_run, validate_request
from tasks.app import ALL_QUEUES, app, settings
from tasks.events import emit
from tasks.intake import broker_counter, send_start
from tasks.lifecycle import cancel_run, refuse_resume
from tasks.worker import resources

log = logging.getLogger(__name__)

# An unreachable broker is reported after about a second, not retried for minutes.
SEND_RETRY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 0.5}
CREATE_TIMEOUT_S = 60  # campaign.start_run creates the row within ms when a worker is up
# How long an embedded `campaign` process keeps working, after its own run, on runs of others it admitted (drain).
DRAIN_BOUND_S = 300
TERMINAL = {s.value for s in TERMINAL_STATUSES}


class StillRunningError(TimeoutError):
    """`wait` gave up while the run is still queued or running: it has not failed, it may finish later."""

    def __init__(self, run_id: uuid.UUID, status: str, waited_s: float, hint: str) -> None:
        super().__init__(f"run {run_id} is still {status} after {waited_s:.0f}s of waiting; {hint}")
        self.run_id, self.status = run_id, status


@dataclass(frozen=True)
class RunSnapshot:
    run: Run
    steps: list[RunStep]

    @property
    def done(self) -> bool:
        return self.run.status in TERMINAL


def validate(request: RunRequest) -> None:
    """Every check that can refuse the request (tenant, base run, step names), before anything is enqueued."""
    res = resources()
    with tenant_scope(request.tenant_id):
        validate_request(request, service=res.service, graph=res.graph, store=res.store)


def submit(request: RunRequest) -> uuid.UUID:
    """Validate and insert the run's row (queued), then enqueue `campaign.start_run`.

    The run exists from the moment its id is returned: `show` and `cancel` find it, and a start message lost with
    the broker leaves a queued row that the sweeper admits. A refused request writes and sends nothing.
    """
    res = resources()
    with tenant_scope(request.tenant_id):
        prepared = prepare_run(request, service=res.service, sessions=res.sessions, graph=res.graph, store=res.store)
        if prepared.created:
            emit(request.run_id, request.tenant_id, "queued", "queued")
        try:
            send_start(app, request.to_json(), broker_counter(), retry_policy=SEND_RETRY, ignore_result=True)
        except Exception:
            if prepared.created:  # the caller is told it failed: it must not start later behind their back
                with res.sessions() as session, session.begin():
                    Ledger(session).discard_queued(request.run_id, request.tenant_id)
            raise
    return request.run_id


def resume(run_id: uuid.UUID, tenant_id: uuid.UUID) -> None:
    """Check the run can be resumed, then enqueue `campaign.resume_run`."""
    check_resumable(run_id, tenant_id)
    app.send_task(
        "campaign.resume_run", args=[str(run_id), str(tenant_id)], retry_policy=SEND_RETRY, ignore_result=True
    )


def check_resumable(run_id: uuid.UUID, tenant_id: uuid.UUID) -> None:
    """The run exists for the tenant, has failed (only that can be resumed), and its context validates."""
    with tenant_scope(tenant_id):
        run = resources().service.load_run(run_id, tenant_id)
        refuse_resume(run.id, run.status, run.epoch)
        decode_context(run.id, run.context)


def cancel(run_id: uuid.UUID, tenant_id: uuid.UUID, *, by: str, reason: str) -> None:
    """Cancel a queued or live run and stop its running steps; a finished run is a clear error."""
    with tenant_scope(tenant_id):
        run = resources().service.load_run(run_id, tenant_id)
        if run.status in TERMINAL:
            raise UpdateRequestError(
                f"run {run_id} is {run.status} already; only a queued or live run can be cancelled"
            )
    # Run here, not enqueued: the caller learns at once whether it took effect.
    cancel_run(str(run_id), str(tenant_id), by, reason)


def stale_runs(tenant_id: uuid.UUID, older_than: timedelta) -> list[Run]:
    """Runs of the tenant still `pending` or `running` with no update of their row for longer than `older_than`."""
    with resources().sessions() as session:
        return RunRepository(session).stale_runs(tenant_id=tenant_id, older_than=utc_now() - older_than)


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
    started = time.monotonic()
    deadline = started + timeout_s
    while True:
        snap = snapshot(run_id, tenant_id)
        if snap is not None:
            on_update(snap)
            if snap.done:
                return snap
        elif time.monotonic() - started > CREATE_TIMEOUT_S:
            hint = "no worker has picked it up: is a worker running? see its log"
            raise StillRunningError(run_id, "queued", time.monotonic() - started, hint)
        if time.monotonic() > deadline:
            status = "queued" if snap is None else snap.run.status
            hint = f"follow it with `campaign show {run_id}`"
            raise StillRunningError(run_id, status, time.monotonic() - started, hint)
        time.sleep(poll_s)


@contextmanager
def embedded_worker(concurrency: int = 4) -> Iterator[None]:
    """A worker thread pool in this process, on the in-memory broker: the same tasks and driver, no servers."""
    if not settings.embedded:
        raise RuntimeError("embedded_worker needs the embedded mode (no CAMPAIGN_BROKER_URL)")
    res = resources()
    try:
        with start_worker(
            app, pool="threads", concurrency=concurrency, perform_ping_check=False, loglevel="WARNING"
        ) as worker:
            yield
            drain()
            # Without this the thread notices the stop flag only after its next 2 s poll of the queue.
            worker.stop(in_sighandler=False)
    finally:
        res.ledger.release_all()  # the pool's threads are gone: their connections go back now


def _busy() -> bool:
    """Whether this process's embedded worker has work: a message in its in-memory broker, or a task received and
    not finished (running, or waiting for its retry's countdown)."""
    from celery.worker import state

    if state.active_requests or state.reserved_requests:
        return True
    with app.connection_for_read() as connection:
        channel = connection.default_channel
        return any(channel._size(queue) for queue in ALL_QUEUES)


def drain(bound_s: float = DRAIN_BOUND_S, poll_s: float = 0.05) -> bool:
    """Wait until the embedded worker is idle (seen twice in a row), at most `bound_s`; False if it never was.

    Every `campaign` process on one embedded database admits the tenant's queued runs, its own or not, and drives
    what it admits through its own in-memory broker: another process's run it admitted has its next steps here.
    Leaving with them queued would leave that run running for ever (no sweeper runs in the embedded mode), so a
    process finishes what it took on before it exits."""
    deadline = time.monotonic() + bound_s
    idle_seen = 0
    while time.monotonic() < deadline:
        idle_seen = idle_seen + 1 if not _busy() else 0
        if idle_seen >= 2:
            return True
        time.sleep(poll_s)
    log.warning("the embedded worker still had work after %g s; leaving it", bound_s)
    return False
