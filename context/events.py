"""A run event: one transition of a run (or one finished step), as any service reads it off a queue or NOTIFY."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from context.models import ContractModel, Timestamp, UuidStr, utc_now_iso

RunEventKind = Literal["queued", "running", "step_finished", "completed", "failed", "cancelled"]
# The run's status after a run-level event; the step's outcome after `step_finished`.
EventStatus = Literal["queued", "pending", "running", "completed", "failed", "cancelled", "executed", "reused"]

KIND_FOR_STATUS: dict[str, RunEventKind] = {
    "queued": "queued",
    "pending": "running",  # admitted: its driver is sending its first steps
    "running": "running",
    "completed": "completed",
    "failed": "failed",
    "cancelled": "cancelled",
}


class RunEvent(ContractModel):
    """camelCase JSON like the context: `{"runId", "tenantId", "kind", "status", "at"}` plus `step`/`reason`."""

    run_id: UuidStr
    tenant_id: UuidStr
    kind: RunEventKind
    status: EventStatus
    step: Annotated[str, Field(min_length=1, max_length=255)] | None = None
    reason: Annotated[str, Field(max_length=4000)] | None = None
    at: Timestamp

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


def run_event(
    run_id: object,
    tenant_id: object,
    kind: RunEventKind,
    status: EventStatus,
    *,
    step: str | None = None,
    reason: str | None = None,
) -> RunEvent:
    """An event stamped now; ids may be UUIDs or their text."""
    return RunEvent(
        run_id=str(run_id),
        tenant_id=str(tenant_id),
        kind=kind,
        status=status,
        step=step,
        reason=reason[:4000] if reason else None,
        at=utc_now_iso(),
    )
