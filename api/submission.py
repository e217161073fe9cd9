"""Submit a run through tasks.client, at most once per Idempotency-Key, and answer it as the API shows runs."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import Response
from pydantic import ValidationError

from api.db import api_sessions
from api.refusals import ApiRefusalError, not_found, refused
from api.schemas import RunOut
from context.errors import ContextError
from context.idempotency import claim_key, request_hash
from pipeline.errors import Problem
from pipeline.launch import RunRequest
from tasks import client

REPLAYED = "Idempotent-Replayed"


@contextmanager
def refusals(run_id: uuid.UUID | None = None) -> Iterator[None]:
    """Refusals of the client functions as HTTP refusals about `run_id` (not found and not yours read alike)."""
    try:
        yield
    except (ContextError, ValidationError) as e:
        refusal = refused(e, run_id)
        if refusal is None:
            raise
        raise refusal from e


def current(run_id: uuid.UUID, tenant_id: uuid.UUID) -> RunOut:
    """The run as stored; one sent but not yet created by a worker is `queued`."""
    snap = client.snapshot(run_id, tenant_id)
    return RunOut(id=run_id, status="queued") if snap is None else RunOut.of(snap.run)


def existing(run_id: uuid.UUID, tenant_id: uuid.UUID) -> client.RunSnapshot:
    snap = client.snapshot(run_id, tenant_id)
    if snap is None:
        raise not_found(run_id)
    return snap


def submit_once(request: RunRequest, body: dict[str, Any], key: str | None, response: Response) -> RunOut:
    """`client.submit(request)`; with a key, the key's first request submits and the others get its run.

    The key is claimed in a transaction held open across the submit: a concurrent request with the same key
    waits on it, then reads the run (or takes the key over if this submit was refused and rolled back).
    """
    if key is None:
        with refusals(request.base_run_id):
            client.submit(request)
        return current(request.run_id, request.tenant_id)
    with api_sessions()() as session, session.begin():
        claim = claim_key(
            session, tenant_id=request.tenant_id, key=key, body_hash=request_hash(body), run_id=request.run_id
        )
        if claim.new:
            with refusals(request.base_run_id):
                client.submit(request)
    if not claim.same_body:
        problem = Problem("Idempotency-Key", f"key {key!r} was used with another request (run {claim.run_id})")
        raise ApiRefusalError(409, "invalid_state", [problem])
    if not claim.new:
        response.headers[REPLAYED] = "true"
    return current(claim.run_id, request.tenant_id)
