"""/v1/runs: submit, list, read, cancel, resume and update runs; each route calls the function the CLI calls."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Header, Query, Response

from api.auth import Tenant
from api.db import api_sessions
from api.refusals import ApiRefusalError
from api.schemas import REFUSALS, CancelBody, RunCreate, RunList, RunOut, RunStatusName, RunUpdate, StepOut
from api.submission import current, existing, refusals, submit_once
from context.models import TriggerType
from context.run_pages import BadCursorError, RunFilter, list_runs
from pipeline.errors import Problem
from pipeline.launch import RunRequest
from tasks import client
from tasks.worker import resources

router = APIRouter(prefix="/v1/runs", tags=["runs"], responses=REFUSALS)

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        description="The same key and body give the same run; another body with the same key is refused (409).",
    ),
]


@router.post("", status_code=202, response_model_exclude_none=True)
def create_run(body: RunCreate, tenant: Tenant, response: Response, idempotency_key: IdempotencyKey = None) -> RunOut:
    """Submit a run (a new campaign, or an update of `baseRunId`); it runs on the workers."""
    with refusals(body.base_run_id):
        request = RunRequest(
            tenant_id=tenant,
            payload=body.payload,
            base_run_id=body.base_run_id,
            steps=body.steps,
            workflow_name=body.workflow_name,
            campaign_id=body.campaign_id,
            trigger_type=TriggerType.API,
            initiated_by="api",
        )
    document = {"path": "/v1/runs", "body": body.model_dump(mode="json", by_alias=True)}
    return submit_once(request, document, idempotency_key, response)


@router.get("", response_model_exclude_none=True)
def get_runs(
    tenant: Tenant,
    status: Annotated[list[RunStatusName], Query(description="Only runs in these statuses.")] = [],  # noqa: B006
    created_after: Annotated[datetime | None, Query(alias="createdAfter", description="Inclusive.")] = None,
    created_before: Annotated[datetime | None, Query(alias="createdBefore", description="Exclusive.")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200, description="`nextCursor` of the previous page.")] = None,
) -> RunList:
    """The tenant's runs, newest first, without their contexts (read one run for that)."""
    where = RunFilter(tuple(status), created_after, created_before)
    try:
        with api_sessions()() as session, session.begin():
            page = list_runs(session, tenant_id=tenant, where=where, limit=limit, cursor=cursor)
    except BadCursorError as e:
        raise ApiRefusalError(422, "invalid_request", [Problem("query.cursor", str(e))]) from e
    return RunList(runs=[RunOut.of(r, with_context=False) for r in page.runs], next_cursor=page.next_cursor)


@router.get("/{run_id}", response_model_exclude_none=True)
def get_run(run_id: uuid.UUID, tenant: Tenant) -> RunOut:
    """The run: status, reason, timings and the stored context."""
    return RunOut.of(existing(run_id, tenant).run)


@router.get("/{run_id}/steps")  # every field present, null when not known yet
def get_steps(run_id: uuid.UUID, tenant: Tenant) -> list[StepOut]:
    """Every step of the graph in order: what happened to it, where and when."""
    snap = existing(run_id, tenant)
    rows = {s.step_id: s for s in snap.steps}
    return [StepOut.of(step_id, rows.get(step_id)) for step_id in resources().graph.step_ids]


@router.post("/{run_id}/cancel", response_model_exclude_none=True)
def cancel_run(run_id: uuid.UUID, tenant: Tenant, body: CancelBody | None = None) -> RunOut:
    """Cancel a queued or live run: queued steps never start, running ones are stopped."""
    with refusals(run_id):
        client.cancel(run_id, tenant, by="api", reason=body.reason if body else "")
    return current(run_id, tenant)


@router.post("/{run_id}/resume", status_code=202, response_model_exclude_none=True)
def resume_run(run_id: uuid.UUID, tenant: Tenant) -> RunOut:
    """Continue a failed run: recorded step results are kept, only what is missing runs."""
    with refusals(run_id):
        client.resume(run_id, tenant)
    return current(run_id, tenant)


@router.post("/{run_id}/updates", status_code=202, response_model_exclude_none=True)
def update_run(
    run_id: uuid.UUID, body: RunUpdate, tenant: Tenant, response: Response, idempotency_key: IdempotencyKey = None
) -> RunOut:
    """A new run from the completed run: only steps whose inputs changed (or `steps`) run again."""
    with refusals(run_id):
        request = RunRequest(
            tenant_id=tenant,
            base_run_id=run_id,
            payload=body.payload,
            steps=body.steps,
            trigger_type=TriggerType.API,
            initiated_by="api",
        )
    document = {"path": f"/v1/runs/{run_id}/updates", "body": body.model_dump(mode="json", by_alias=True)}
    return submit_once(request, document, idempotency_key, response)
