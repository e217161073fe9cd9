"""/v1/runs/{id}/events: the run's event log as Server-Sent Events, resumable with Last-Event-ID."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from api.auth import Tenant
from api.db import api_sessions
from api.event_hub import EventHub
from api.schemas import REFUSALS
from api.submission import existing
from context.run_log import LoggedEvent, events_after

router = APIRouter(prefix="/v1/runs", tags=["events"], responses=REFUSALS)

# A comment line this often keeps proxies from closing an idle stream, and bounds how late a stream notices a
# wake-up it missed (the listener reconnecting).
KEEPALIVE_S = 15.0


def _read(run_id: uuid.UUID, tenant: uuid.UUID, after: int) -> list[LoggedEvent]:
    with api_sessions()() as session, session.begin():
        return events_after(session, run_id, tenant_id=tenant, after=after)


def sse(event: LoggedEvent) -> bytes:
    return f"id: {event.id}\ndata: {json.dumps(event.event, separators=(',', ':'))}\n\n".encode()


async def stream(
    request: Request, hub: EventHub, run_id: uuid.UUID, tenant: uuid.UUID, after: int
) -> AsyncIterator[bytes]:
    with hub.subscribe(str(run_id)) as wake:
        yield b"retry: 2000\n\n"
        while not await request.is_disconnected():
            wake.clear()  # before reading: an append after the read sets it again
            key = (tenant, run_id, after, hub.generation)
            events = await hub.shared(key, partial(run_in_threadpool, _read, run_id, tenant, after))
            for event in events:
                yield sse(event)
            if events:
                after = events[-1].id
                continue  # a page of 500: there may be more
            try:
                await asyncio.wait_for(wake.wait(), KEEPALIVE_S)
            except TimeoutError:
                yield b": keepalive\n\n"


@router.get(
    "/{run_id}/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "`id:` and `data:` (one run event) lines"}},
)
async def run_events(
    run_id: uuid.UUID,
    tenant: Tenant,
    request: Request,
    last_event_id: Annotated[int | None, Header(alias="Last-Event-ID", ge=0)] = None,
    after: Annotated[
        int | None, Query(ge=0, description="As Last-Event-ID, for clients that cannot set headers.")
    ] = None,
) -> StreamingResponse:
    """Every event of the run from the start (or after Last-Event-ID), then each new one as it is logged."""
    await run_in_threadpool(existing, run_id, tenant)  # 404 before the stream starts
    hub: EventHub = request.app.state.event_hub
    start = last_event_id if last_event_id is not None else (after or 0)
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(
        stream(request, hub, run_id, tenant, start), media_type="text/event-stream", headers=headers
    )
