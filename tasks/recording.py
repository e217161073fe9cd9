"""What tasks write on the run row besides the context: step outcomes, checkpoints, failures."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from context.runs import LIVE_STATUSES, RunRepository, RunStatus, StepOutcome, utc_now
from tasks.events import emit
from tasks.worker import resources

log = logging.getLogger(__name__)


def finish_step(
    run_id: str,
    tenant_id: str,
    step_id: str,
    outcome: StepOutcome,
    reason: str | None,
    *,
    new_attempt: bool = False,
    checkpoint: dict[str, Any] | None = None,
) -> int:
    """Record the step's progress (returns its attempts) and, at the end of a level, the checkpoint.

    One statement, autocommitted.
    """
    with resources().autocommit_sessions() as session:
        return RunRepository(session, durable=False).step_progress(
            uuid.UUID(run_id),
            step_id,
            outcome,
            reason,
            tenant_id=uuid.UUID(tenant_id),
            new_attempt=new_attempt,
            checkpoint=checkpoint,
        )


def checkpoint(run_id: str, tenant_id: str, ctx_json: dict[str, Any]) -> None:
    """Store the context after a level, so `campaign resume` can continue from here.

    Only a live run is checkpointed: a message redelivered after the run ended must not rewind it.
    """
    with resources().sessions() as session, session.begin():
        RunRepository(session, durable=False).update_run(
            uuid.UUID(run_id),
            tenant_id=uuid.UUID(tenant_id),
            only_if_status=LIVE_STATUSES,
            context=ctx_json,
            status=RunStatus.RUNNING.value,
        )


def fail_run(run_id: str, tenant_id: str, step_id: str, error: str, ctx_json: dict[str, Any] | None) -> None:
    """Mark the run failed with the step and reason; the partial context is kept, never dropped."""
    log.error("run failed", extra={"run_id": run_id, "tenant_id": tenant_id, "step_id": step_id, "error": error})
    values: dict[str, Any] = {
        "status": RunStatus.FAILED.value,
        "error": error[:4000],
        "failed_step": step_id,
        "finished_at": utc_now(),
    }
    if ctx_json is not None:
        values["context"] = ctx_json
    with resources().sessions() as session, session.begin():
        repo = RunRepository(session)
        run_uuid, tenant_uuid = uuid.UUID(run_id), uuid.UUID(tenant_id)
        ended = repo.update_run(run_uuid, tenant_id=tenant_uuid, only_if_status=LIVE_STATUSES, **values)
        repo.record_step(uuid.UUID(run_id), step_id, StepOutcome.FAILED, error[:4000], tenant_id=uuid.UUID(tenant_id))
    if ended:  # a run that had already ended (another branch failed first) is not reported twice
        emit(run_id, tenant_id, "failed", "failed", step=step_id, reason=error)
