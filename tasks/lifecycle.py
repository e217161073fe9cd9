"""The run's own tasks: start (the public entry), merge a level's branches, persist the result."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from celery import Task
from sqlalchemy.exc import OperationalError

from context.errors import ContextError
from context.runs import RunRepository, RunStatus
from context.service import decode_context
from context.tenancy import tenant_scope
from pipeline.errors import UpdateRequestError
from pipeline.launch import RunRequest, prepare_run
from pipeline.merge import merge_branches
from tasks.app import app
from tasks.canvas import build_canvas
from tasks.events import emit
from tasks.recording import checkpoint, fail_run
from tasks.refusing import refuses_with_json
from tasks.worker import resources

log = logging.getLogger(__name__)


@app.task(name="campaign.start_run")
@refuses_with_json(run_path="baseRunId")
def start_run(request_json: dict[str, Any]) -> str:
    """Create the run row and launch its canvas; plain JSON in, the run id out, so any Celery client can call it."""
    request = RunRequest.model_validate(request_json)
    res = resources()
    prepared = prepare_run(request, service=res.service, sessions=res.sessions, graph=res.graph)
    if not prepared.created:
        log.warning("start message redelivered; run already exists", extra={"run_id": str(prepared.run_id)})
        return str(prepared.run_id)
    emit(prepared.run_id, prepared.tenant_id, "queued", "pending")
    launch(str(prepared.run_id), str(prepared.tenant_id), prepared.context.to_json_dict(), prepared.forced)
    return str(prepared.run_id)


def launch(run_id: str, tenant_id: str, ctx_json: dict[str, Any], forced: frozenset[str]) -> None:
    """Mark the run running and send its canvas (also what `resume` calls, from the checkpoint)."""
    res = resources()
    with res.sessions() as session, session.begin():
        RunRepository(session).update_run(
            _uuid(run_id),
            tenant_id=_uuid(tenant_id),
            status=RunStatus.RUNNING.value,
            error=None,
            failed_step=None,
            finished_at=None,
        )
    emit(run_id, tenant_id, "running", "running")
    build_canvas(run_id=run_id, tenant_id=tenant_id, levels=res.graph.levels, forced=forced).apply_async(
        args=(ctx_json,)
    )


@app.task(name="campaign.resume_run")
@refuses_with_json(run_path="runId")
def resume_run(run_id: str, tenant_id: str) -> str:
    """Continue a stopped run from its checkpoint: steps whose results are there are reused, the rest run."""
    res = resources()
    with tenant_scope(tenant_id):
        run = res.service.load_run(run_id, tenant_id)
        if run.status == RunStatus.COMPLETED.value:
            raise UpdateRequestError(f"run {run_id} is completed; there is nothing to resume")
        ctx = decode_context(run.id, run.context)
    launch(run_id, tenant_id, ctx.to_json_dict(), frozenset())
    return run_id


@app.task(name="campaign.merge")
def merge(branches: list[dict[str, Any]], *, run_id: str, tenant_id: str, steps: list[str]) -> dict[str, Any]:
    """The chord callback: join the level's branch contexts and checkpoint the result."""
    res = resources()
    with tenant_scope(tenant_id):
        try:
            contexts = [decode_context(run_id, b) for b in branches]
            merged = merge_branches(contexts, [res.graph[s] for s in steps]).to_json_dict()
        except ContextError as e:
            fail_run(run_id, tenant_id, "merge", str(e), branches[0] if branches else None)
            raise
        checkpoint(run_id, tenant_id, merged)
        return merged


@app.task(
    bind=True,
    name="campaign.persist",
    autoretry_for=(OperationalError,),  # the database is down or restarting: wait for it, lose nothing
    retry_backoff=True,
    retry_backoff_max=30,
    retry_jitter=True,
    max_retries=40,
)
def persist(self: Task, ctx_json: dict[str, Any], *, run_id: str, tenant_id: str) -> str:
    """Store the final context on the run row and mark it completed."""
    res = resources()
    with tenant_scope(tenant_id):
        try:
            ctx = decode_context(run_id, ctx_json)
        except ContextError as e:
            fail_run(run_id, tenant_id, "persist", str(e), None)
            raise
        with res.autocommit_sessions() as session:  # one statement: atomic without BEGIN/COMMIT
            completed = RunRepository(session).save_context(
                _uuid(run_id), ctx.to_json_dict(), tenant_id=_uuid(tenant_id), complete=True
            )
    if not completed:  # a redelivered persist, or a run failed meanwhile: its row already says how it ended
        log.warning("run not live; persist skipped", extra={"run_id": run_id, "tenant_id": tenant_id})
        return run_id
    log.info("run completed", extra={"run_id": run_id, "tenant_id": tenant_id})
    emit(run_id, tenant_id, "completed", "completed")
    return run_id


def _uuid(value: str) -> uuid.UUID:
    return uuid.UUID(value)
