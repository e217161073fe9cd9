"""One step body, registered once per step spec as `campaign.<step>`: act once per recorded result, then advance.

A delivery first asks the ledger whether it may act (the run is live, its epoch drives the run). A step whose
result is already recorded is not generated again: the delivery only advances the run, so a redelivered or
duplicated message never produces a second result (nor pays its generator twice), and what follows is sent once.
While the generator runs, a heartbeat holds the run (tasks.heartbeat).

A database outage (refused or silent: every connection is bounded, context.db) is never the step's failure: the
step is retried, then left to the sweeper. Only the step's own errors fail it.
"""

from __future__ import annotations

import logging
import random
import uuid
from dataclasses import replace

from celery import Task
from celery.exceptions import SoftTimeLimitExceeded
from sqlalchemy.exc import InterfaceError, OperationalError

from context.ledger import StepEnd
from context.runs import StepOutcome
from context.tenancy import tenant_scope
from pipeline.delta import REUSED, step_delta
from pipeline.errors import StepFailedError, TransientStepError
from pipeline.steps import DEFAULT_GRAPH, StepSpec
from tasks import metrics, tracing
from tasks.app import app, settings
from tasks.driver import context_of, fail_run, lease, proceed
from tasks.events import emit
from tasks.heartbeat import heartbeat
from tasks.worker import resources

log = logging.getLogger(__name__)


def backoff_s(retries: int, ceiling_s: float) -> float:
    """Exponential backoff with full jitter, capped: retrying workers do not hit a service in lockstep."""
    ceiling = min(ceiling_s, 2 ** min(retries, 16))
    return random.uniform(ceiling / 2, ceiling)


class DatabaseUnavailableError(Exception):
    """Raised by a step that gave up waiting for the database: not the step's failure. Its error callback leaves
    the run to the sweeper. A plain one-message exception, so the result backend gives it back as itself."""


_USUAL = {StepOutcome.EXECUTED.value, StepOutcome.REUSED.value}

# A refused or silent database (context.db bounds every round trip) or a connection it closed.
DB_OUTAGE = (OperationalError, InterfaceError)


def _inside_database(e: BaseException) -> bool:
    """Whether `e` was raised while the step waited on the database (a soft time limit firing mid-query)."""
    tb = e.__traceback__
    while tb is not None:
        if str(tb.tb_frame.f_globals.get("__name__", "")).startswith(("psycopg", "sqlalchemy")):
            return True
        tb = tb.tb_next
    return False


def _timed_out(e: BaseException) -> bool:
    # The executor wraps a generator's exceptions; the soft limit may fire inside one.
    return isinstance(e, SoftTimeLimitExceeded) or isinstance(e.__cause__, SoftTimeLimitExceeded)


def run_once(task: Task, spec: StepSpec, run_id: str, tenant_id: str, epoch: int) -> tuple[str, StepEnd | None]:
    """Generate (or reuse) and record the step's result unless it is recorded already, claiming what follows in
    the same transaction; returns what happened, and the ledger's answer (None when this delivery was stale). When
    this step's result completed the run and every other result was known at its start, the answer carries the
    run's final context, so completing the run costs one write and no read."""
    res = resources()
    run_uuid, tenant_uuid = uuid.UUID(run_id), uuid.UUID(tenant_id)
    # Each ledger call is one statement, its own transaction (it names its tenant itself): one round trip.
    with res.ledger() as ledger:
        start = ledger.begin_step(
            run_uuid,
            tenant_uuid,
            spec.id,
            epoch,
            queue=(task.request.delivery_info or {}).get("routing_key"),
            hostname=task.request.hostname,
            task_id=task.request.id,
            lease=lease(),
        )
    if start.stale:
        return f"dropped: {start.stale}", None
    if spec.id in start.view.recorded:
        with res.ledger() as ledger:
            end = ledger.end_step(run_uuid, tenant_uuid, None, epoch, deps=res.graph.deps, lease=lease())
        return "already recorded", end
    if start.attempts > 1 + spec.policy.max_retries + settings.max_redeliveries:
        raise StepFailedError(spec.id, f"started {start.attempts} times without finishing (is it killing its worker?)")
    ctx = context_of(start.view, res.graph, run_id)
    known = dict(start.view.results)
    decision = res.executor.decide(ctx, spec, forced=spec.id in start.view.forced)
    stored: tuple[tuple[str, int], ...] = ()
    if decision.reuse:
        outcome, reason, delta = StepOutcome.REUSED, decision.reason, REUSED
    else:
        with heartbeat(run_uuid, tenant_uuid, epoch, lease()):
            result = res.executor.execute(ctx, spec, decision)
        outcome, reason, delta = StepOutcome.EXECUTED, result.reason, step_delta(ctx, result.context, spec.id)
        stored = result.stored
    with res.ledger() as ledger:
        end = ledger.end_step(
            run_uuid,
            tenant_uuid,
            spec.id,
            epoch,
            deps=res.graph.deps,
            lease=lease(),
            outcome=outcome,
            reason=reason,
            result=delta,
        )
    if end.recorded:
        metrics.artifacts_stored(stored)  # the ledger holds these bytes now: counted once, as they are
        emit(run_id, tenant_id, "step_finished", outcome.value, step=spec.id, reason=reason)
        known[spec.id] = delta
        if end.complete and known.keys() >= set(res.graph.step_ids):
            # Recorded results never change: these are the run's, so its final context needs no second read.
            end = replace(end, final_context=context_of(replace(start.view, results=known), res.graph, run_id))
        return outcome.value, end
    return f"{outcome.value}, but another delivery recorded first: its result stands", end


def _register(step_id: str) -> Task:
    @app.task(bind=True, name=f"campaign.{step_id}", ignore_result=True, store_errors_even_if_ignored=True)
    def run_step(self: Task, *, run_id: str, tenant_id: str, epoch: int) -> None:
        extra = {"run_id": run_id, "tenant_id": tenant_id, "step_id": step_id, "epoch": epoch}
        tracing.mark_run(run_id, tenant_id, step_id, epoch)
        res = resources()
        spec = res.graph[step_id]
        policy = spec.policy
        with tenant_scope(tenant_id):
            try:
                what, end = run_once(self, spec, run_id, tenant_id, epoch)
                # The usual outcomes are in the run's event log (app.run_events), so not at INFO on every step; a
                # duplicate or stale delivery is worth a line.
                log.log(logging.DEBUG if what in _USUAL else logging.INFO, "step %s", what, extra=extra)
                if end is not None:
                    proceed(run_id, tenant_id, epoch, end)
            except DB_OUTAGE as e:  # the database is unreachable: the step is idempotent, so wait and redo it
                raise _database_outage(self, e, extra, policy.retry_backoff_max_s) from e
            except Exception as e:
                if _timed_out(e) and _inside_database(e):  # the time went waiting on a silent database
                    raise _database_outage(self, e, extra, policy.retry_backoff_max_s) from e
                if _timed_out(e):
                    reason = f"exceeded {policy.soft_time_limit_s:g} s (soft time limit)"
                    retry = policy.retry_on_timeout
                    countdown = backoff_s(self.request.retries, policy.retry_backoff_max_s)
                elif isinstance(e, TransientStepError):
                    reason, retry = str(e), True
                    after = getattr(e, "retry_after_s", None)  # a service's Retry-After wins over our backoff
                    countdown = (
                        after if after is not None else backoff_s(self.request.retries, policy.retry_backoff_max_s)
                    )
                else:
                    reason, retry, countdown = (
                        (str(e) if isinstance(e, StepFailedError) else f"{type(e).__name__}: {e}"),
                        False,
                        0,
                    )
                if retry and self.request.retries < policy.max_retries:
                    log.warning("step will be retried", extra={**extra, "error": reason})
                    raise self.retry(exc=e, countdown=countdown, max_retries=policy.max_retries) from e
                if retry:
                    reason = f"gave up after {self.request.retries} retries: {reason}"
                fail_run(run_id, tenant_id, step_id, reason, epoch)
                raise

    return run_step


def _database_outage(task: Task, e: Exception, extra: dict[str, object], backoff_max_s: float) -> Exception:
    """The exception that retries the step later, or, its retries spent, leaves the run to the sweeper."""
    log.warning("database unreachable; step will be retried", extra={**extra, "error": str(e)})
    if task.request.retries >= settings.db_outage_retries:
        return DatabaseUnavailableError(f"gave up on the database after {task.request.retries} retries: {e}")
    retry: Exception = task.retry(
        exc=e, countdown=backoff_s(task.request.retries, backoff_max_s), max_retries=settings.db_outage_retries
    )
    return retry


@app.task(
    bind=True,
    name="campaign.step_failed",
    ignore_result=True,
    # Its record must survive a database outage: retried like a step, then the sweeper's.
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    retry_backoff_max=30,
    max_retries=settings.db_outage_retries,
    soft_time_limit=settings.control_task_time_limit_s,
    time_limit=settings.control_task_time_limit_s + 10,
)
def step_failed(self: Task, task_id: str, *, run_id: str, tenant_id: str, epoch: int, step_id: str) -> None:
    """Error callback of every step message: records failures the step itself could not (hard time limit, kill)."""
    res = resources()
    policy = res.graph[step_id].policy
    reason = "the worker process running it failed"
    result = app.AsyncResult(task_id)
    if result.failed():
        exc = result.result
        if type(exc).__name__ in ("DatabaseUnavailableError", "OperationalError"):
            # The database outage outlasted the step's retries: not the step's fault. The run's lease runs out
            # and the sweeper takes it over once the database answers; failing it here would lose the run.
            log.warning(
                "step gave up on the database; left to the sweeper", extra={"run_id": run_id, "step_id": step_id}
            )
            return
        if type(exc).__name__ == "TimeLimitExceeded":
            reason = f"exceeded {policy.time_limit_s:g} s (hard time limit); its worker process was replaced"
        else:
            reason = f"{type(exc).__name__}: {exc}"
    with tenant_scope(tenant_id):
        if fail_run(run_id, tenant_id, step_id, reason, epoch):
            log.error("step failed outside its own boundary", extra={"run_id": run_id, "step_id": step_id})


STEP_TASKS: dict[str, Task] = {step_id: _register(step_id) for step_id, _ in DEFAULT_GRAPH}

__all__ = ["STEP_TASKS", "DatabaseUnavailableError", "backoff_s", "run_once", "step_failed"]
