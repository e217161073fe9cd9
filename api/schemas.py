"""What the API reads and answers, as pydantic models: FastAPI builds the OpenAPI document from them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from context.runs import Run, RunStep

RunStatusName = Literal["queued", "pending", "running", "completed", "failed", "cancelled"]


class ApiModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class RunCreate(ApiModel):
    """`POST /v1/runs`: a new run from a payload, or an update of `baseRunId` forcing `steps`."""

    payload: dict[str, Any] = Field(
        default_factory=dict, description="The trigger payload: {'brief': ..., 'steps': {...}}."
    )
    base_run_id: uuid.UUID | None = None
    steps: list[str] = Field(default_factory=list, description="Steps an update re-runs even if unchanged.")
    workflow_name: str = Field(default="campaign", min_length=1, max_length=255)
    campaign_id: uuid.UUID | None = None


class RunUpdate(ApiModel):
    """`POST /v1/runs/{id}/updates`: a run from the completed run `id`, the payload merged over its own."""

    payload: dict[str, Any] = Field(default_factory=dict)
    steps: list[str] = Field(default_factory=list)


class CancelBody(ApiModel):
    reason: str = Field(default="", max_length=1000)


class RunOut(ApiModel):
    """A run as stored; a run sent but not yet taken by a worker has only `id` and `status` (`queued`)."""

    id: uuid.UUID
    status: RunStatusName
    tenant_id: uuid.UUID | None = None
    campaign_id: uuid.UUID | None = None
    workflow_name: str | None = None
    base_run_id: uuid.UUID | None = None
    reason: str | None = Field(default=None, description="Why the run failed or was cancelled.")
    failed_step: str | None = None
    forced_steps: list[str] | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    duration_s: float | None = Field(default=None, description="finishedAt - startedAt, once finished.")
    context: dict[str, Any] | None = Field(
        default=None, description="The stored campaign context (the contract's JSON)."
    )

    @classmethod
    def of(cls, run: Run, *, with_context: bool = True) -> RunOut:
        duration = (run.finished_at - run.started_at).total_seconds() if run.finished_at and run.started_at else None
        return cls(
            id=run.id,
            status=run.status,
            tenant_id=run.tenant_id,
            campaign_id=run.campaign_id,
            workflow_name=run.workflow_name,
            base_run_id=run.base_run_id,
            reason=run.error,
            failed_step=run.failed_step,
            forced_steps=run.forced_steps,
            created_at=run.created_at,
            updated_at=run.updated_at,
            started_at=run.started_at,
            finished_at=run.finished_at,
            duration_s=duration,
            context=run.context if with_context else None,
        )


class RunList(ApiModel):
    runs: list[RunOut]
    next_cursor: str | None = Field(
        default=None, description="Pass as `cursor` for the next page; absent on the last page."
    )


class StepOut(ApiModel):
    """One step of the run's graph: `outcome` null until it is sent."""

    step_id: str
    outcome: Literal["queued", "running", "executed", "reused", "failed"] | None = None
    reason: str | None = None
    attempts: int | None = None
    queue: str | None = None
    hostname: str | None = Field(default=None, description="The worker that ran (or runs) it.")
    sent_at: datetime | None = Field(default=None, description="When it was sent to its queue (its last send).")
    started_at: datetime | None = Field(default=None, description="startedAt - sentAt: its wait in the queue.")
    finished_at: datetime | None = None
    updated_at: datetime | None = None

    @classmethod
    def of(cls, step_id: str, row: RunStep | None) -> StepOut:
        if row is None:
            return cls(step_id=step_id)
        return cls(
            step_id=step_id,
            outcome=row.outcome,
            reason=row.reason,
            attempts=row.attempts,
            queue=row.queue,
            hostname=row.hostname,
            sent_at=row.sent_at,
            started_at=row.started_at,
            finished_at=row.finished_at,
            updated_at=row.updated_at,
        )


class RefusalError(BaseModel):
    path: str
    message: str


class Refusal(BaseModel):
    """Every refusal, as the Celery tasks and the CLI's --json give it."""

    code: str
    exitCode: int
    message: str
    errors: list[RefusalError]


class Health(BaseModel):
    status: Literal["ok", "unavailable"]
    checks: dict[str, str] = Field(default_factory=dict)


REFUSALS: dict[int | str, dict[str, Any]] = {
    code: {"model": Refusal, "description": text}
    for code, text in {
        400: "Malformed JSON, or nested too deeply",
        401: "Missing or unknown API key",
        404: "No such run for this tenant (another tenant's run reads the same)",
        409: "The run's state does not allow it, or the Idempotency-Key was used with another body",
        413: "Body too large",
        422: "Invalid request: `errors` name the JSON paths",
        503: "Database or broker unreachable",
    }.items()
}
