"""Refusals over HTTP: the JSON of pipeline.refusals (`{code, exitCode, message, errors[{path, message}]}`)
with the HTTP status that says the same thing."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from kombu.exceptions import OperationalError as BrokerError
from pydantic import ValidationError
from sqlalchemy.exc import OperationalError as DbError

from context.errors import BaseRunNotFoundError, ContextError
from pipeline.errors import Problem
from pipeline.problems import json_path
from pipeline.refusals import EXIT_CODES, refusal_for

# An outage is usually short (a restart, a failover): clients with an idempotency key send the same request again.
RETRY_SOON = {"Retry-After": "1"}
HTTP_STATUS = {"invalid_request": 422, "invalid_state": 409, "not_found": 404, "unavailable": 503}
# Codes only the HTTP door has; their exit code is what the CLI answers for bad input.
API_EXIT_CODES = {**EXIT_CODES, "unauthorized": 2, "malformed": 2, "too_large": 2}


class ApiRefusalError(Exception):
    """Raised by a route or dependency to answer with a refusal: an HTTP status, a code and its problems."""

    def __init__(self, status: int, code: str, problems: list[Problem], headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{code}: " + "; ".join(f"{p.path}: {p.message}" for p in problems))
        self.status, self.code, self.problems, self.headers = status, code, problems, headers


def refusal_json(code: str, problems: list[Problem]) -> dict[str, Any]:
    return {
        "code": code,
        "exitCode": API_EXIT_CODES[code],
        "message": "; ".join(f"{p.path}: {p.message}" for p in problems),
        "errors": [{"path": p.path, "message": p.message} for p in problems],
    }


def refusal_response(
    status: int, code: str, problems: list[Problem], headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(refusal_json(code, problems), status_code=status, headers=headers)


def not_found(run_id: object) -> ApiRefusalError:
    """Exactly what a missing run and another tenant's run answer."""
    refusal = refusal_for(BaseRunNotFoundError(str(run_id)), run_id=str(run_id))
    assert refusal is not None
    return ApiRefusalError(404, refusal.code, refusal.errors)


def refused(error: ContextError | ValidationError, run_id: object = None) -> ApiRefusalError | None:
    """The HTTP refusal `error` stands for, or None when it is not a refusal (a bug)."""
    refusal = refusal_for(error, run_id=str(run_id) if run_id else None)
    if refusal is None:
        return None
    return ApiRefusalError(HTTP_STATUS[refusal.code], refusal.code, refusal.errors)


def _request_problems(error: RequestValidationError) -> tuple[int, str, list[Problem]]:
    """FastAPI's validation errors as JSON paths into what the client sent: `payload.brief`, `query.limit`."""
    problems = []
    malformed = False
    for item in error.errors():
        loc = list(item.get("loc", ()))
        if loc and loc[0] == "body":
            loc = loc[1:]
        if item.get("type") == "json_invalid":
            malformed = True
            problems.append(Problem("(body)", f"not valid JSON: {item.get('ctx', {}).get('error', item['msg'])}"))
            continue
        message = "unknown key" if item.get("type") == "extra_forbidden" else str(item["msg"])
        problems.append(Problem(json_path(loc), message))
    return (400, "malformed", problems) if malformed else (422, "invalid_request", problems)


async def on_refusal(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiRefusalError)
    return refusal_response(exc.status, exc.code, exc.problems, exc.headers)


async def on_request_invalid(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return refusal_response(*_request_problems(exc))


async def on_context_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ContextError | ValidationError)
    refusal = refusal_for(exc)
    if refusal is None:
        raise exc
    return refusal_response(HTTP_STATUS[refusal.code], refusal.code, refusal.errors)


async def on_database_down(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DbError)
    return refusal_response(
        503, "unavailable", [Problem("database", "the database is unreachable; retry later")], RETRY_SOON
    )


async def on_broker_down(_: Request, exc: Exception) -> JSONResponse:
    return refusal_response(
        503, "unavailable", [Problem("broker", "the broker is unreachable; retry later")], RETRY_SOON
    )


HANDLERS: dict[type[Exception], Any] = {
    ApiRefusalError: on_refusal,
    RequestValidationError: on_request_invalid,
    ContextError: on_context_error,
    ValidationError: on_context_error,
    DbError: on_database_down,
    BrokerError: on_broker_down,
}
