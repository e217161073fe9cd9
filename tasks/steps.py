"""One step body, registered once per step spec as `campaign.<step>`: deserialize, run, serialize."""

from __future__ import annotations

import logging
import random
from typing import Any

from celery import Task
from sqlalchemy.exc import OperationalError

from context.errors import ContextError
from context.runs import StepOutcome
from context.service import decode_context
from context.tenancy import tenant_scope
from pipeline.errors import StepFailedError, TransientStepError
from pipeline.executor import StepResult
from pipeline.steps import DEFAULT_GRAPH
from tasks.app import app, settings
from tasks.events import emit
from tasks.recording import fail_run, finish_step
from tasks.worker import resources

log = logging.getLogger(__name__)


def backoff_s(retries: int) -> float:
    """Exponential backoff with full jitter, capped: retrying workers do not hit a service in lockstep."""
    ceiling = min(settings.retry_backoff_max_s, 2 ** min(retries, 16))
    return random.uniform(ceiling / 2, ceiling)


def _register(step_id: str) -> Task:
    @app.task(bind=True, name=f"campaign.{step_id}", max_retries=settings.step_max_retries)
    def run_step(
        self: Task,
        ctx_json: dict[str, Any],
        *,
        run_id: str,
        tenant_id: str,
        forced: bool = False,
        checkpoint_after: bool = False,
    ) -> dict[str, Any]:
        extra = {"run_id": run_id, "tenant_id": tenant_id, "step_id": step_id}
        res = resources()
        with tenant_scope(tenant_id):
            try:
                ctx = decode_context(run_id, ctx_json)
                spec = res.graph[step_id]
                decision = res.executor.decide(ctx, spec, forced=forced)
                if decision.reuse:
                    result = StepResult(ctx, "reused", decision.reason)
                else:
                    # Counted before the generator runs, so a step that kills its worker is seen each time.
                    attempts = finish_step(run_id, tenant_id, step_id, StepOutcome.RUNNING, None, new_attempt=True)
                    if attempts > 1 + settings.step_max_retries + settings.max_redeliveries:
                        reason = f"started {attempts} times without finishing (is it killing its worker?)"
                        raise StepFailedError(step_id, reason)
                    result = res.executor.execute(ctx, spec, decision)
                out = result.context.to_json_dict()
                finish_step(run_id, tenant_id, step_id, StepOutcome(result.outcome), result.reason,
                            checkpoint=out if checkpoint_after else None)  # fmt: skip
                emit(run_id, tenant_id, "step_finished", result.outcome, step=step_id, reason=result.reason)
            except OperationalError as e:  # the database is unreachable: the step is idempotent, so wait and redo it
                log.warning("database unreachable; step will be retried", extra={**extra, "error": str(e)})
                raise self.retry(
                    exc=e, countdown=backoff_s(self.request.retries), max_retries=settings.db_outage_retries
                ) from e
            except TransientStepError as e:
                if self.request.retries < self.max_retries:
                    log.warning("step will be retried", extra={**extra, "error": str(e)})
                    finish_step(run_id, tenant_id, step_id, StepOutcome.RUNNING, f"retrying after: {e}")
                    raise self.retry(exc=e, countdown=backoff_s(self.request.retries)) from e
                fail_run(run_id, tenant_id, step_id, f"gave up after {self.request.retries} retries: {e}", ctx_json)
                raise
            except ContextError as e:
                fail_run(run_id, tenant_id, step_id, str(e), ctx_json)
                raise
            except Exception as e:  # the boundary that records any failure on the run row, then re-raises
                fail_run(run_id, tenant_id, step_id, f"{type(e).__name__}: {e}", ctx_json)
                raise
            log.info("step %s", result.outcome, extra={**extra, "reason": result.reason})
            return out

    return run_step


STEP_TASKS: dict[str, Task] = {step_id: _register(step_id) for step_id, _ in DEFAULT_GRAPH}
