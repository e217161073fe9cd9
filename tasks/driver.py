"""Drive a run along its step graph from the ledger: send each step when its inputs are recorded, complete it.

No chords, no level barriers: after a step's result is recorded, every step whose producers all have
recorded results is claimed for this epoch (once) and sent; the last recording completes the run.
A claim is an outbox entry: the claim commits, then the message is sent; a send the broker refuses releases its
claim, and the sweeper sends what is claimable and unsent later, so a broker outage never fails a run.
Priorities (0 is served first): a run's steps go by depth, 9 for its first steps down to 1 for the deepest, so a
run that has started finishes before other runs advance; start messages are sent at 0..9 by the fair intake
(pipeline.policy.start_priority), and the sweep at 0.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from kombu.exceptions import OperationalError as BrokerError

from context.errors import ContextError
from context.ledger import Ledger, RunView, StepEnd
from context.models import CampaignContext
from context.runs import RunStatus, StepOutcome
from context.service import decode_context
from pipeline.delta import REUSED, compose
from pipeline.errors import PipelineError
from pipeline.graph import StepGraph
from tasks import metrics
from tasks.app import app, settings
from tasks.events import emit
from tasks.worker import Resources, resources

log = logging.getLogger(__name__)


def lease() -> timedelta:
    return timedelta(seconds=settings.run_lease_s)


def step_priority(graph: StepGraph, step_id: str) -> int:
    """Deeper steps first (9 for a first step down to 1): a run that has started finishes before others advance."""
    depth = next(i for i, level in enumerate(graph.levels) if step_id in level)
    return max(1, 9 - depth)


def context_of(view: RunView, graph: StepGraph, run_id: str) -> CampaignContext:
    """The run's starting context with every recorded step result applied, in graph order."""
    return compose(decode_context(run_id, view.context), graph.step_ids, view.results)


def send_step(res: Resources, run_id: str, tenant_id: str, step_id: str, epoch: int) -> None:
    policy = res.graph[step_id].policy
    ids = {"run_id": run_id, "tenant_id": tenant_id, "epoch": epoch}
    app.send_task(
        f"campaign.{step_id}",
        kwargs=ids,
        queue=policy.queue,
        priority=step_priority(res.graph, step_id),
        soft_time_limit=policy.soft_time_limit_s,
        time_limit=policy.time_limit_s,
        # What Flower shows of the message: a plain repr of three ids, not Celery's saferepr walk of every send.
        argsrepr="()",
        kwargsrepr=repr(ids),
        # A failure the step's own boundary could not record (hard time limit, killed process) still ends the run.
        link_error=app.signature("campaign.step_failed", kwargs={**ids, "step_id": step_id}, queue=policy.queue),
    )


def advance(run_id: str, tenant_id: str, epoch: int) -> None:
    """Send every step that is ready and not yet sent in this epoch; complete the run when all are recorded."""
    res = resources()
    with res.ledger() as ledger:
        end = ledger.end_step(uuid.UUID(run_id), uuid.UUID(tenant_id), None, epoch, deps=res.graph.deps, lease=lease())
    proceed(run_id, tenant_id, epoch, end)


def proceed(run_id: str, tenant_id: str, epoch: int, end: StepEnd) -> None:
    """Act on a step's last transaction: send the steps it claimed, or complete the run."""
    if not end.live:
        log.info("not advancing: the run is no longer live", extra={"run_id": run_id, "epoch": epoch})
        return
    to_send, done = list(end.claimed), end.complete
    if end.update and to_send:
        to_send = reuse_inline(run_id, tenant_id, epoch, to_send)  # completes the run if reuse goes to the end
    send_claimed(run_id, tenant_id, epoch, to_send)
    if done and end.final_context is not None:
        complete_with(run_id, tenant_id, epoch, end.final_context)
    elif done:
        complete(run_id, tenant_id, epoch)


def send_claimed(run_id: str, tenant_id: str, epoch: int, steps: Sequence[str]) -> None:
    """Send the steps this epoch claimed; release the claims of those the broker refused (the sweeper resends)."""
    res = resources()
    for i, step_id in enumerate(steps):
        try:
            send_step(res, run_id, tenant_id, step_id, epoch)
        except (BrokerError, ConnectionError, OSError) as e:
            unsent = list(steps[i:])
            log.warning("broker refused a step; its claim is released for the sweeper to resend",
                        extra={"run_id": run_id, "epoch": epoch, "steps": unsent, "error": str(e)})  # fmt: skip
            with res.ledger() as ledger:
                ledger.unclaim(uuid.UUID(run_id), uuid.UUID(tenant_id), epoch, unsent)
            return


def reuse_inline(run_id: str, tenant_id: str, epoch: int, claimed: list[str]) -> list[str]:
    """Record the claimed steps of an update that are reused, here, without a task each, following the graph as
    far as reuse goes (the ledger says what each recording makes ready): a reused step costs a decision, not a
    broker round trip. Completes the run when reuse reaches its end; returns the steps left to send."""
    res = resources()
    graph = res.graph
    run_uuid, tenant_uuid = uuid.UUID(run_id), uuid.UUID(tenant_id)
    reused_all: list[tuple[str, str]] = []
    with res.sessions() as session, session.begin():
        ledger = Ledger(session)
        # Locked until the reused steps are recorded: no other writer records a step of this run meanwhile, so
        # the context read here stays right (a reused step changes nothing in it).
        view = ledger.view(run_uuid, tenant_uuid, lock=True)
        if view is None or not view.live or view.epoch != epoch:
            return []  # cancelled, failed or taken over: nothing more to send
        try:
            ctx = context_of(view, graph, run_id)
        except ContextError:
            return claimed  # the steps' own tasks meet the problem and report it
        keep: list[str] = []
        pending = [s for s in claimed if s not in view.recorded]
        end = StepEnd(live=True)
        while pending:
            reused = []
            for step_id in pending:
                try:
                    decision = res.executor.decide(ctx, graph[step_id], forced=step_id in view.forced)
                except (PipelineError, ContextError):
                    decision = None  # the step's own task meets the problem and reports it as the step's failure
                if decision is None or not decision.reuse:
                    keep.append(step_id)
                else:
                    reused.append((step_id, decision.reason))
            if not reused:
                break
            recorded = set(ledger.record_reused(run_uuid, tenant_uuid, epoch, reused, result=REUSED))
            reused_all += [(s, r) for s, r in reused if s in recorded]
            end = ledger.end_step(run_uuid, tenant_uuid, None, epoch, deps=graph.deps, lease=lease())
            pending = [s for s in end.claimed if s not in keep]
            if not end.live or end.complete:
                break
        # The context read above is the final one: the lock kept every other writer out, reuse changed nothing.
        ended = (
            ledger.finish(run_uuid, tenant_uuid, status=RunStatus.COMPLETED, epoch=epoch, context=ctx.to_json_dict())
            if end.complete
            else None
        )
    metrics.run_ended(ended)
    for step_id, reason in reused_all:
        log.info("step reused", extra={"run_id": run_id, "tenant_id": tenant_id, "step_id": step_id})
        emit(run_id, tenant_id, "step_finished", StepOutcome.REUSED.value, step=step_id, reason=reason)
    if ended:
        _completed(run_id, tenant_id)
    return keep if end.live else []


def complete(run_id: str, tenant_id: str, epoch: int) -> None:
    """Store the run's final context and end it completed, once (compare-and-set on status and epoch)."""
    res = resources()
    run_uuid, tenant_uuid = uuid.UUID(run_id), uuid.UUID(tenant_id)
    with res.sessions() as session, session.begin():
        ledger = Ledger(session)
        # Locks the run row first, as every writer does: one lock order, no deadlocks between steps.
        view = ledger.view(run_uuid, tenant_uuid, lock=True)
        if view is None or not view.live or view.epoch != epoch or not view.recorded >= set(res.graph.step_ids):
            return
        ctx = context_of(view, res.graph, run_id)
        done = ledger.finish(run_uuid, tenant_uuid, status=RunStatus.COMPLETED, epoch=epoch, context=ctx.to_json_dict())
    metrics.run_ended(done)
    if done:
        _completed(run_id, tenant_id)


def complete_with(run_id: str, tenant_id: str, epoch: int, ctx: CampaignContext) -> None:
    """End the run completed with `ctx`, built from its recorded results (which never change): one statement,
    compare-and-set on status and epoch, so a cancel or a takeover since then wins."""
    with resources().ledger() as ledger:
        done = ledger.finish(uuid.UUID(run_id), uuid.UUID(tenant_id), status=RunStatus.COMPLETED, epoch=epoch,
                             context=ctx.to_json_dict())  # fmt: skip
    metrics.run_ended(done)
    if done:
        _completed(run_id, tenant_id)


def _completed(run_id: str, tenant_id: str) -> None:
    log.info("run completed", extra={"run_id": run_id, "tenant_id": tenant_id})
    emit(run_id, tenant_id, "completed", "completed")
    admit_next(tenant_id)


def admit_next(tenant_id: str) -> None:
    """A run of the tenant ended (or arrived): start its oldest queued runs while it is under its cap."""
    res = resources()
    with res.ledger() as ledger:
        admitted = ledger.admit(uuid.UUID(tenant_id), settings.tenant_max_running, lease())
    for run_uuid, epoch in admitted:
        log.info("run admitted", extra={"run_id": str(run_uuid), "tenant_id": tenant_id, "epoch": epoch})
        emit(run_uuid, tenant_id, "running", "pending")
        advance(str(run_uuid), tenant_id, epoch)


def fail_run(run_id: str, tenant_id: str, step_id: str, reason: str, epoch: int | None) -> bool:
    """Mark the run failed with the step and reason, keeping what was recorded; False if it was not live."""
    res = resources()
    log.error("run failed", extra={"run_id": run_id, "tenant_id": tenant_id, "step_id": step_id, "error": reason})
    run_uuid, tenant_uuid = uuid.UUID(run_id), uuid.UUID(tenant_id)
    with res.sessions() as session, session.begin():
        ledger = Ledger(session)
        view = ledger.view(run_uuid, tenant_uuid, lock=True)
        if view is None or not view.live:
            return False
        partial: dict[str, Any] | None
        try:
            partial = context_of(view, res.graph, run_id).to_json_dict()
        except ContextError:
            partial = None  # the stored context itself is the problem: keep it as it is
        failed = ledger.finish(
            run_uuid,
            tenant_uuid,
            status=RunStatus.FAILED,
            epoch=epoch,
            context=partial,
            error=reason[:4000],
            failed_step=step_id,
        )
    metrics.run_ended(failed)
    if failed:
        emit(run_id, tenant_id, "failed", "failed", step=step_id, reason=reason[:4000])
        admit_next(tenant_id)
    return failed is not None
