"""The run page for people: the runs list at `/`, one run at `/runs/{id}`, signed in by key or a login form."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import parse_qs

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from api.auth import COOKIE, presented_key, tenant_for_key
from api.db import api_sessions
from api.page import login_page, runs_page
from api.refusals import ApiRefusalError
from api.run_view import run_page, run_parts
from api.schemas import RunOut, RunStatusName, StepOut
from api.submission import existing
from context.run_pages import BadCursorError, RunFilter, list_runs
from pipeline.errors import Problem
from tasks.worker import resources

router = APIRouter(include_in_schema=False)
COOKIE_MAX_AGE_S = 8 * 3600


def _tenant(request: Request) -> uuid.UUID | None:
    """The signed-in tenant (bearer key or cookie), or None: a page answers an unknown visitor with the login form."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    try:
        key = token if scheme.lower() == "bearer" and token else presented_key(request, None)
    except ApiRefusalError:  # no key at all: the login form
        return None
    return tenant_for_key(key)


def _login() -> RedirectResponse:
    return RedirectResponse("/login", status_code=303)


@router.get("/", response_class=HTMLResponse)
def runs_list(
    request: Request,
    status: Annotated[RunStatusName | None, Query()] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    tenant = _tenant(request)
    if tenant is None:
        return _login()
    where = RunFilter((status,) if status else ())
    try:
        with api_sessions()() as session, session.begin():
            page = list_runs(session, tenant_id=tenant, where=where, limit=50, cursor=cursor)
    except BadCursorError:
        return RedirectResponse("/", status_code=303)
    return HTMLResponse(runs_page([RunOut.of(r) for r in page.runs], status=status, next_cursor=page.next_cursor))


def _run(run_id: uuid.UUID, tenant: uuid.UUID) -> tuple[RunOut, list[StepOut]]:
    snap = existing(run_id, tenant)  # 404 refusal, as the API answers
    rows = {s.step_id: s for s in snap.steps}
    return RunOut.of(snap.run), [StepOut.of(step_id, rows.get(step_id)) for step_id in resources().graph.step_ids]


@router.get("/runs/{run_id}", response_class=HTMLResponse)
def one_run(request: Request, run_id: uuid.UUID) -> Response:
    tenant = _tenant(request)
    if tenant is None:
        return _login()
    return HTMLResponse(run_page(*_run(run_id, tenant), datetime.now(UTC)))


@router.get("/runs/{run_id}/parts")
def run_page_parts(request: Request, run_id: uuid.UUID) -> Response:
    """What the run page's script swaps in when an event arrives (summary, steps, previews), as HTML in JSON."""
    tenant = _tenant(request)
    if tenant is None:
        raise ApiRefusalError(401, "unauthorized", [Problem("Authorization", "sign in, or send a bearer key")])
    return JSONResponse(
        run_parts(*_run(run_id, tenant), datetime.now(UTC)).as_json(), headers={"Cache-Control": "no-store"}
    )


@router.get("/login", response_class=HTMLResponse)
def login_form() -> HTMLResponse:
    return HTMLResponse(login_page())


@router.post("/login")
async def login(request: Request) -> Response:
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    key = (form.get("key") or [""])[0]
    if await run_in_threadpool(tenant_for_key, key) is None:  # a table key is a query: off the event loop
        return HTMLResponse(login_page("not a valid API key"), status_code=401)
    answer = RedirectResponse("/", status_code=303)
    # HttpOnly: no script reads it; Strict: no other site's form or link sends it; Secure whenever served on https.
    answer.set_cookie(
        COOKIE, key, max_age=COOKIE_MAX_AGE_S, httponly=True, samesite="strict", secure=request.url.scheme == "https"
    )
    return answer


@router.post("/logout")
def logout() -> Response:
    answer = RedirectResponse("/login", status_code=303)
    answer.delete_cookie(COOKIE)
    return answer
