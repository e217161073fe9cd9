"""The run's own tasks: start (the public entry), resume, cancel, and the sweeper that leaves no run behind."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Any

from celery import Task
from sqlalchemy.exc import OperationalError

from context.ledger import Ledger
from context.runs import RunStatus, RunStep, StepOutcome
from context.tenancy import tenant_scope
from pipeline.errors import UpdateRequestError
from pipeline.launch import RunRequest, prepare_run
from tasks import metrics, tracing
from tasks.app import app, settings
from tasks.broker_watch import lost_before, queues_holding_messages
from tasks.driver import admit_next, advance, fail_run, lease
from tasks.events import emit
from tasks.intake import broker_counter, broker_redis, taken_in
from tasks.refusing import refuses_with_json
from tasks.worker import resources

# Every task of the run's own has a time limit: a database or broker that goes silent must not hold a worker slot.
CONTROL_LIMITS = {"soft_time_limit": settings.control_task_time_limit_s,
                  "time_limit": settings.control_task_time_limit_s + 10}  # fmt: skip

log = logging.getLogger(__name__)


@app.task(
    bind=True,
    name="campaign.start_run",
    autoretry_for=(OperationalError,),  # the database is down or restarting: wait for it, lose nothing
    retry_backoff=True,
    retry_backoff_max=30,
    retry_jitter=True,
    max_retries=settings.db_outage_retries,
    **CONTROL_LIMITS,
)
@refuses_with_json(run_path="baseRunId")
def start_run(self: Task, request_json: dict[str, Any]) -> str:
    """Create the run row (queued) unless its submitter did, admit it under its tenant's fair share, send its first
    steps.

    Plain JSON in, the run id out, so any Celery client can call it (and wait for it: this small result, kept
    CAMPAIGN_RESULT_EXPIRES_S, is the one a client reads; steps store none). Python submitters (the CLI,
    tasks.client) insert the row before sending this message, so a lost message leaves a queued row the sweeper
    admits; a redelivered start finds the row and goes on from where the first delivery stopped.
    """
    if self.request.retries == 0:  # a retry is a message of Celery's own, never counted by a sender
        taken_in(request_json, broker_counter())
    request = RunRequest.model_validate(request_json)
    res = resources()
    prepared = prepare_run(request, service=res.service, sessions=res.sessions, graph=res.graph, store=res.store)
    run_id, tenant_id = str(prepared.run_id), str(prepared.tenant_id)
    tracing.mark_run(run_id, tenant_id)
    if prepared.created:
        emit(run_id, tenant_id, "queued", "queued")
    with tenant_scope(tenant_id):
        admit_next(tenant_id)
        if not prepared.created:  # its submitter inserted the row, or this is a redelivery
            log.info("start message for an existing run", extra={"run_id": run_id})
            with res.sessions() as session, session.begin():
                view = Ledger(session).view(prepared.run_id, prepared.tenant_id, documents=False)
            if view is not None and view.live:
                advance(run_id, tenant_id, view.epoch)  # claims are per epoch: nothing is sent twice
    return run_id


def resume(run_id: str, tenant_id: str) -> None:
    """Put a failed run back in its tenant's queue; admission (under the fair share) gives it a new epoch, which
    sends what is missing. Recorded step results are kept, and attempts count afresh in the new epoch."""
    res = resources()
    with tenant_scope(tenant_id), res.sessions() as session, session.begin():
        run = res.service.load_run(run_id, tenant_id)  # not found / other tenant
        refuse_resume(run.id, run.status, run.epoch)
        if not Ledger(session).requeue(uuid.UUID(run_id), uuid.UUID(tenant_id), from_statuses=(RunStatus.FAILED,)):
            raise UpdateRequestError(f"run {run_id} changed while resuming it; look at it again")
    emit(run_id, tenant_id, "queued", "queued", reason="resumed")
    with tenant_scope(tenant_id):
        admit_next(tenant_id)


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


@app.task(name="campaign.resume_run", **CONTROL_LIMITS)
@refuses_with_json(run_path="runId")
def resume_run(run_id: str, tenant_id: str) -> str:
    """Continue a failed run: steps whose results are recorded are kept, the rest run."""
    resume(run_id, tenant_id)
    return run_id


@app.task(name="campaign.cancel_run", **CONTROL_LIMITS)
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
        # Read before the run ends: ending it marks its unfinished steps cancelled.
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
        ended = ledger.finish(run_uuid, tenant_uuid, status=RunStatus.CANCELLED, epoch=None, context=None, error=why)
        if ended is None:
            raise UpdateRequestError(f"run {run_id} is {run.status}; only a queued or live run can be cancelled")
    metrics.run_ended(ended)
    if running:
        # SIGTERM the pool processes running them; their writes are refused anyway, the run being cancelled.
        app.control.revoke(list(running), terminate=True, signal="SIGTERM")
    log.warning("run cancelled", extra={"run_id": run_id, "tenant_id": tenant_id, "reason": why})
    emit(run_id, tenant_id, "cancelled", "cancelled", reason=why)
    with tenant_scope(tenant_id):
        admit_next(tenant_id)
    return run_id


@app.task(name="campaign.sweep", ignore_result=True, **CONTROL_LIMITS)
def sweep() -> dict[str, int]:
    """Periodic (Celery beat): look at every live run whose lease ran out or whose messages the broker lost, and
    admit queued runs. Each run is decided under its own lock (app.sweep_run) and handled on its own: one bad
    candidate never stops the sweep."""
    res = resources()
    with res.sessions() as session:
        ledger = Ledger(session)
        since = lost_before(broker_redis(), ledger.now())
        candidates = ledger.sweep_candidates(since)
    queues = {spec.policy.queue for spec in res.graph.specs.values()}
    holding = queues_holding_messages(app, queues) if candidates else set()
    waiting_ok = [step for step, spec in res.graph.specs.items() if spec.policy.queue in holding]
    counts: dict[str, int] = {}
    for run_uuid, tenant_uuid, kind in candidates:
        tenant_id = str(tenant_uuid)
        try:
            with tenant_scope(tenant_id):
                if kind == "queued" or run_uuid is None:
                    admit_next(tenant_id)
                    action = "admitted_tenant"
                else:
                    action = _sweep_run(str(run_uuid), tenant_id, since, waiting_ok)
        except Exception:
            log.exception("sweeping a run failed; the next sweep tries again", extra={"run_id": str(run_uuid)})
            action = "error"
        metrics.swept(action)
        counts[action] = counts.get(action, 0) + 1
    if set(counts) - {"waiting", "progress", "gone"}:
        log.warning("sweep", extra=counts)
    return counts


def _sweep_run(run_id: str, tenant_id: str, since: datetime | None, waiting_ok: list[str]) -> str:
    res = resources()
    run_uuid, tenant_uuid = uuid.UUID(run_id), uuid.UUID(tenant_id)
    with res.sessions() as session, session.begin():
        decision = Ledger(session).sweep_run(
            run_uuid, tenant_uuid, lease=lease(), max_sweeps=settings.max_sweeps, lost_before=since,
            waiting_ok=waiting_ok,
        )  # fmt: skip
    action, epoch = decision.action, decision.epoch
    if action == "fail":
        reason = (
            f"no progress after {settings.max_sweeps} takeovers by the sweeper (lease {settings.run_lease_s} s): "
            "its running steps stopped their heartbeats, or its sent steps were in no queue, each time"
        )
        fail_run(run_id, tenant_id, "sweeper", reason, epoch)
    elif action in ("taken_over", "lost"):
        why = "the broker lost its messages" if action == "lost" else "its lease expired with no heartbeat"
        log.warning("run taken over by the sweeper", extra={"run_id": run_id, "epoch": epoch, "reason": why})
        emit(run_id, tenant_id, "running", "pending", reason=f"resumed by the sweeper: {why}")
        advance(run_id, tenant_id, epoch)
    elif action == "resend":
        advance(run_id, tenant_id, epoch)
    return action
