"""Turn a run request (plain JSON from any client) into a run row and its starting context."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from context.models import CampaignContext, TriggerInfo, TriggerType, utc_now_iso
from context.runs import Run, RunRepository, RunStatus, utc_now
from context.service import CampaignContextService, decode_context
from context.tenancy import tenant_scope
from pipeline.brand import AssetRef, AssetRole, asset_problems, attach_assets, record_asset_checks
from pipeline.errors import Problem, RequestInvalidError, UpdateRequestError
from pipeline.graph import StepGraph
from pipeline.param_models import payload_size_problem
from pipeline.params import deep_merge
from pipeline.problems import forced_step_problems, payload_problems
from pipeline.store import ArtifactStore


class RunRequest(BaseModel):
    """The body of `campaign.start_run`: what the TypeScript service (or the CLI) sends to start a run."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    tenant_id: uuid.UUID
    run_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    campaign_id: uuid.UUID | None = None  # a new campaign, or the base run's on an update
    workflow_name: str = Field(default="campaign", min_length=1, max_length=255)
    payload: dict[str, Any] = Field(default_factory=dict)
    base_run_id: uuid.UUID | None = None
    steps: list[str] = Field(default_factory=list)  # forced steps on an update
    trigger_type: TriggerType = TriggerType.API
    initiated_by: str | None = None
    # The brand's images the caller uploaded to the store (pipeline.brand): artifacts of the run from its start.
    assets: dict[AssetRole, AssetRef] = Field(default_factory=dict)

    @field_validator("payload")
    @classmethod
    def _storable(cls, payload: dict[str, Any]) -> dict[str, Any]:
        # PostgreSQL's jsonb cannot hold U+0000: refuse it here rather than fail the run's first write.
        too_big = payload_size_problem(payload)  # first: the NUL scan below recurses
        if too_big:
            raise ValueError(f"payload is {too_big}")
        if _has_nul(payload):
            raise ValueError("payload must not contain the NUL character (U+0000): jsonb cannot store it")
        return payload

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


@dataclass(frozen=True)
class PreparedRun:
    run_id: uuid.UUID
    tenant_id: uuid.UUID
    context: CampaignContext
    forced: frozenset[str]
    created: bool  # False when the run already existed (a redelivered start message)


def load_base(service: CampaignContextService, request: RunRequest) -> tuple[Run, CampaignContext]:
    """The base run of an update and its context, or the error that stops the update before enqueueing."""
    assert request.base_run_id is not None
    run = service.load_run(request.base_run_id, request.tenant_id)  # not found, another tenant's
    ctx = decode_context(run.id, run.context)  # a corrupt stored context is refused here
    if run.status == RunStatus.CANCELLED.value:
        raise UpdateRequestError(f"base run {run.id} was cancelled; only a completed run can be updated")
    if run.status != RunStatus.COMPLETED.value:
        raise UpdateRequestError(
            f"base run {run.id} is {run.status}, not completed; only a completed run can be updated"
        )
    return run, ctx


def validate_request(
    request: RunRequest, *, service: CampaignContextService, graph: StepGraph, store: ArtifactStore | None = None
) -> tuple[Run, CampaignContext] | None:
    """Every check that can refuse a request, run before anything is enqueued; an update's base run and context.

    An update's payload is checked merged over its base's: that is the payload its steps will read.
    """
    problems = forced_step_problems(request.steps, graph)
    if problems:  # known without a query: refused before the base run is looked up
        raise RequestInvalidError(problems)
    payload = request.payload
    base = None
    if request.base_run_id is not None:
        base = load_base(service, request)
        payload = deep_merge(base[1].trigger.payload or {}, request.payload)
    elif request.steps:
        raise UpdateRequestError("--steps forces steps of an update; a new run executes every step anyway")
    problems += payload_problems(payload, graph)
    if store is not None:
        problems += asset_problems(request.assets, store)
    if problems:
        raise RequestInvalidError(problems)
    return base


def prepare_run(
    request: RunRequest,
    *,
    service: CampaignContextService,
    sessions: sessionmaker[Session],
    graph: StepGraph,
    store: ArtifactStore | None = None,
) -> PreparedRun:
    """Create the run row (queued) with its starting context; idempotent on `request.run_id`: a second call with
    the same id (a redelivered start, a submitter's row) returns the existing run. An id another tenant's run has
    is refused like any bad request, revealing nothing of that run."""
    forced = frozenset(request.steps)  # names checked by validate_request before the row exists
    try:
        base = validate_request(request, service=service, graph=graph, store=store)
    except (RequestInvalidError, UpdateRequestError):
        existing = _existing(request, sessions, forced)  # a redelivered start goes on with the run it created
        if existing is None:
            raise
        return existing
    trigger = TriggerInfo(type=request.trigger_type, timestamp=utc_now_iso(), initiated_by=request.initiated_by)
    if base is not None:
        base_run, base_ctx = base
        trigger.payload = deep_merge(base_ctx.trigger.payload or {}, request.payload)
        ctx = base_ctx.model_copy(deep=True, update={"run_id": str(request.run_id), "trigger": trigger})
        campaign_id = base_run.campaign_id
    else:
        trigger.payload = request.payload
        campaign_id = request.campaign_id or uuid.uuid4()
        ctx = service.create(
            campaign_id=str(campaign_id),
            run_id=str(request.run_id),
            workflow_name=request.workflow_name,
            trigger=trigger,
        )
    ctx = attach_assets(ctx, request.assets)
    if store is not None:
        record_asset_checks(ctx, request.assets, store)
    ctx = CampaignContext.model_validate(ctx.to_json_dict())  # the payload must be JSON: refuse it here, not mid-run
    run = Run(
        id=request.run_id,
        tenant_id=request.tenant_id,
        campaign_id=campaign_id,
        workflow_name=ctx.workflow_name,
        status=RunStatus.QUEUED.value,  # admitted under the tenant's fair share by the start task
        base_run_id=request.base_run_id,
        forced_steps=sorted(forced),
        context=ctx.to_json_dict(),
        started_at=utc_now(),
    )
    try:
        with sessions() as session, session.begin():
            RunRepository(session).add(run)
    except IntegrityError:
        # The row exists: this is a redelivered start (one insert instead of a lookup before every insert).
        existing = _existing(request, sessions, forced)
        if existing is None:
            raise _id_taken(request) from None
        return existing
    return PreparedRun(request.run_id, request.tenant_id, ctx, forced, created=True)


def _id_taken(request: RunRequest) -> RequestInvalidError:
    return RequestInvalidError(
        [Problem("runId", f"run id {request.run_id} cannot be used: it is taken; send a new id (or none)")]
    )


def _existing(request: RunRequest, sessions: sessionmaker[Session], forced: frozenset[str]) -> PreparedRun | None:
    with tenant_scope(request.tenant_id), sessions() as session, session.begin():
        run = RunRepository(session).get(request.run_id, tenant_id=request.tenant_id)
        if run is None:
            return None
        return PreparedRun(run.id, run.tenant_id, decode_context(run.id, run.context), forced, created=False)
