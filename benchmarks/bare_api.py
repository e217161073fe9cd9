"""The baseline for `api`: a bare FastAPI endpoint that inserts one row (uvicorn, same machine, same database)."""

from __future__ import annotations

import json
import uuid
from typing import Any

from fastapi import FastAPI
from sqlalchemy import text

from context.db import make_engine
from context.settings import get_settings

_INSERT = text("INSERT INTO bench_rows (id, body) VALUES (:id, CAST(:body AS jsonb))")


def create_app() -> FastAPI:
    engine = make_engine(get_settings().database_url, pool_size=10, max_overflow=40)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS bench_rows (id uuid PRIMARY KEY, body jsonb NOT NULL)"))
    app = FastAPI()

    @app.post("/rows", status_code=202)
    def insert(body: dict[str, Any]) -> dict[str, str]:
        row_id = uuid.uuid4()
        with engine.begin() as conn:
            conn.execute(_INSERT, {"id": row_id, "body": json.dumps(body)})
        return {"id": str(row_id), "status": "queued"}

    return app
