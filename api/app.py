"""The FastAPI application: one router per resource, refusals in the tasks' JSON, bodies capped before parsing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api.db import libpq_dsn, require_postgresql
from api.event_hub import EventHub
from api.limits import BodyLimits
from api.refusals import HANDLERS
from api.routes import artifacts, events, game, health, metrics, page, runs
from api.settings import get_api_settings


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    require_postgresql()
    hub = EventHub(libpq_dsn())
    hub.start()
    app.state.event_hub = hub
    yield
    await hub.stop()


def create_app() -> FastAPI:
    cfg = get_api_settings()
    app = FastAPI(
        title="Campaign pipeline API",
        version="1",
        description="Submit campaign runs, follow them (Server-Sent Events) and fetch their artifacts. "
        "Every route but /healthz and /readyz takes `Authorization: Bearer <API key>`.",
        lifespan=lifespan,
    )
    for router in (
        runs.router,
        events.router,
        artifacts.router,
        game.router,
        health.router,
        metrics.router,
        page.router,
    ):
        app.include_router(router)
    for error, handler in HANDLERS.items():
        app.add_exception_handler(error, handler)
    app.add_middleware(BodyLimits, max_bytes=cfg.max_body_bytes, max_depth=cfg.max_body_depth)
    return app
