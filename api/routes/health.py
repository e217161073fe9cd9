"""/healthz (the process answers) and /readyz (its database and broker answer); neither needs a key."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from api.db import api_engine
from api.schemas import Health
from tasks.app import app

router = APIRouter(tags=["health"])
CHECK_TIMEOUT_S = 2.0


@router.get("/healthz")
def healthz() -> Health:
    return Health(status="ok")


def _database() -> str:
    try:
        with api_engine().connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as e:  # any failure means not ready; the probe reports it, it does not raise
        return f"unreachable: {type(e).__name__}"
    return "ok"


def _broker() -> str:
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0.2, timeout=CHECK_TIMEOUT_S)
    except Exception as e:  # as above
        return f"unreachable: {type(e).__name__}"
    return "ok"


@router.get("/readyz", responses={503: {"model": Health, "description": "The database or the broker is down"}})
def readyz() -> JSONResponse:
    checks = {"database": _database(), "broker": _broker()}
    ready = all(v == "ok" for v in checks.values())
    body = Health(status="ok" if ready else "unavailable", checks=checks)
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)
