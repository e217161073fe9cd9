"""The run's own tasks: start (the public entry), resume, cancel, and the sweeper that leaves no run behind."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from celery import Task
from sqlalchemy.exc import OperationalError

from context.ledger import Ledger
from context.runs import RunStatus, RunStep, StepOutcome
from context.tenancy import tenant_scope
from pipeline.errors import UpdateRequestError
from pipeline.launch import RunRequest, prepare_run
from tasks.app import app, settings
from tasks.driver import admit_next, advance, fail_run, lease
from tasks.events import emit
from tasks.intake import broker_counter, taken_in
from tasks.refusing import refuses_with_json
from tasks.worker import resources

log = logging.getLogger(__name__)


@app.task(
    bind=True,
    name="campaign.start_run",
    autoretry_for=(OperationalError,),  # the database is down or restarting: wait for it, lose nothing
    retry_backoff=True,
    retry_backoff_max=30,
    retry_jitter=True,
    max_retries=settings.db_outage_retries,
)
@refuses_with_json(run_path="baseRunId")
def start_run(self: Task, request_json: dict[str, Any]) -> str:
    """Create the run row (queued), admit it under its tenant's fair share, send its first steps.

    Plain JSON in, the run id out, so any Celery client can call it (and wait for it: this small result, kept
    CAMPAIGN_RESULT_EXPIRES_S, is the one a client reads; steps store none). A redelivered start finds the row and
    goes on from where the first delivery stopped: it never leaves a run pending.
    """
    if self.request.retries == 0:  # a retry is a message of Celery's own, never counted by a sender
        taken_in(request_json, broker_counter())
    request = RunRequest.model_validate(request_json)
    res = resources()
    prepared = prepare_run(request, service=res.service, sessions=res.sessions, graph=res.graph, store=res.store)
    run_id, tenant_id = str(prepared.run_id), str(prepared.tenant_id)
    if prepared.created:
        emit(run_id, tenant_id, "queued", "queued")
    with tenant_scope(tenant_id):
        admit_next(tenant_id)
        if not prepared.created:
            log.warning("start message redelivered; run already exists", extra={"run_id": run_id})
            with res.sessions() as session, session.begin():
                view = Ledger(session).view(prepared.run_id, prepared.tenant_id, documents=False)
            if view is not None and view.live:
                advance(run_id, tenant_id, view.epoch)  # claims are per epoch: nothing is sent twice
    return run_id


def resume(run_id: str, tenant_id: str) -> int:
    """Take over a failed run with a new epoch and send what is missing; recorded step results are kept."""
    res = resources()
    with tenant_scope(tenant_id), res.sessions() as session, session.begin():
        ledger = Ledger(session)
        run = res.service.load_run(run_id, tenant_id)  # not found / other tenant
        refuse_resume(run.id, run.status, run.epoch)
        epoch = ledger.new_epoch(
            uuid.UUID(run_id), uuid.UUID(tenant_id), from_statuses=(RunStatus.FAILED,), lease=lease()
        )
    if epoch is None:
        raise UpdateRequestError(f"run {run_id} changed while resuming it; look at it again")
    emit(run_id, tenant_id, "running", "pending", reason="resumed")
    with tenant_scope(tenant_id):
        advance(run_id, tenant_id, epoch)
    return epoch


def refuse_resume(run_id: uuid.UUID, status: str, epoch: int) -> None:
    """Only a failed run can be resumed; say why any other cannot."""
    if status == RunStatus.COMPLETED.value:
        raise UpdateRequestError(f"run {run_id} is completed; there is nothing to resume")
    if status == RunStatus.CANCELLED.value:
        raise UpdateRequestError(f"run {run_id} was cancelled; start a new run instead")
    if status in (RunStatus.PENDING.value, RunStatus.RUNNING.value, RunStatus.QUEUED.value):
        raise UpdateRequestError(
            f"run {run_id} is {status} (driver epoch {epoch}); it is still live, so it cannot be resumed: "
            "the sweeper resumes it by itself if its workers stop making progress"
        )


@app.task(name="campaign.resume_run")
@refuses_with_json(run_path="runId")
def resume_run(run_id: str, tenant_id: str) -> str:
    """Continue a failed run: steps whose results are recorded are kept, the rest run."""
    resume(run_id, tenant_id)
    return run_id


@app.task(name="campaign.cancel_run")
@refuses_with_json(run_path="runId")
def cancel_run(run_id: str, tenant_id: str, by: str = "api", reason: str = "") -> str:
    """Stop a run: it ends `cancelled` with who and why; queued steps never start, running ones are stopped."""
    res = resources()
    run_uuid, tenant_uuid = uuid.UUID(run_id), uuid.UUID(tenant_id)
    why = f"cancelled by {by}" + (f": {reason}" if reason else "")
    with tenant_scope(tenant_id), res.sessions() as session, session.begin():
        run = res.service.load_run(run_id, tenant_id)
        ledger = Ledger(session)
        ledger.view(run_uuid, tenant_uuid, lock=True, documents=False)
        if not ledger.finish(run_uuid, tenant_uuid, status=RunStatus.CANCELLED, epoch=None, context=None, error=why):
            raise UpdateRequestError(f"run {run_id} is {run.status}; only a queued or live run can be cancelled")
        running = session.scalars(
            RunStep.__table__.select()
            .with_only_columns(RunStep.task_id)
            .where(
                RunStep.run_id == run_uuid,
                RunStep.tenant_id == tenant_uuid,
                RunStep.outcome == StepOutcome.RUNNING.value,
                RunStep.task_id.is_not(None),
            )
        ).all()
    if running:
        # SIGTERM the pool processes running them; their writes are refused anyway, the run being cancelled.
        app.control.revoke(list(running), terminate=True, signal="SIGTERM")
    log.warning("run cancelled", extra={"run_id": run_id, "tenant_id": tenant_id, "reason": why})
    emit(run_id, tenant_id, "cancelled", "cancelled", reason=why)
    with tenant_scope(tenant_id):
        admit_next(tenant_id)
    return run_id


@app.task(name="campaign.sweep", ignore_result=True)
def sweep() -> dict[str, int]:
    """Periodic (Celery beat): resume live runs whose lease expired, fail them after max_sweeps, admit queued runs."""
    res = resources()
    with res.sessions() as session:
        candidates = Ledger(session).sweep_candidates()
    counts = {"resumed": 0, "failed": 0, "admitted_tenants": 0}
    for run_uuid, tenant_uuid, kind in candidates:
        tenant_id = str(tenant_uuid)
        with tenant_scope(tenant_id):
            if kind == "queued" or run_uuid is None:
                admit_next(tenant_id)
                counts["admitted_tenants"] += 1
                continue
            counts[_sweep_run(str(run_uuid), tenant_id)] += 1
    if any(counts.values()):
        log.warning("sweep", extra=counts)
    return counts


def _sweep_run(run_id: str, tenant_id: str) -> str:
    res = resources()
    run_uuid, tenant_uuid = uuid.UUID(run_id), uuid.UUID(tenant_id)
    with res.sessions() as session, session.begin():
        ledger = Ledger(session)
        view = ledger.view(run_uuid, tenant_uuid, documents=False)
        if view is None or not view.live:
            return "resumed"  # ended meanwhile: nothing to do, counted as handled
        if view.sweeps >= settings.max_sweeps:
            epoch = None
        else:
            epoch = ledger.new_epoch(
                run_uuid,
                tenant_uuid,
                from_statuses=(RunStatus.PENDING, RunStatus.RUNNING),
                lease=lease(),
                expected_epoch=view.epoch,
                sweep=True,
            )
    if epoch is None and view.sweeps >= settings.max_sweeps:
        reason = (
            f"no progress after {settings.max_sweeps} resumes by the sweeper (lease {settings.run_lease_s} s each): "
            "its steps keep getting lost or killing their workers"
        )
        fail_run(run_id, tenant_id, "sweeper", reason, view.epoch)
        return "failed"
    if epoch is not None:
        log.warning("lease expired; run resumed by the sweeper", extra={"run_id": run_id, "epoch": epoch})
        emit(run_id, tenant_id, "running", "pending", reason="resumed by the sweeper: its lease expired")
        advance(run_id, tenant_id, epoch)
    return "resumed"
