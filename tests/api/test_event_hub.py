"""The API's one LISTEN connection wakes the streams of a run when the run's log grows, and only those."""

from __future__ import annotations

import asyncio
import uuid

import psycopg
from sqlalchemy.engine import make_url

from api.event_hub import EventHub
from api.routes.events import KEEPALIVE_S


def _insert_run(dsn: str, run_id: uuid.UUID) -> None:
    with psycopg.connect(dsn) as conn:
        conn.execute(
            "INSERT INTO app.runs (id, tenant_id, campaign_id, workflow_name, status, created_at, updated_at) "
            "VALUES (%s, %s, %s, 'campaign', 'queued', now(), now())",
            (run_id, uuid.uuid4(), uuid.uuid4()),
        )


def test_a_logged_event_wakes_its_runs_subscribers_well_before_the_keepalive(pg_admin_url: str) -> None:
    dsn = make_url(pg_admin_url).set(drivername="postgresql").render_as_string(hide_password=False)
    run_id, other = uuid.uuid4(), uuid.uuid4()

    async def scenario() -> tuple[bool, bool]:
        hub = EventHub(dsn)
        hub.start()
        try:
            with hub.subscribe(str(run_id)) as wake, hub.subscribe(str(other)) as other_wake:
                await asyncio.wait_for(wake.wait(), 10)  # the hub wakes everyone once it listens (its catch-up)
                wake.clear()
                other_wake.clear()
                await asyncio.to_thread(_insert_run, dsn, run_id)
                # Half the keepalive: woken by the notification, not by the streams' periodic re-read.
                await asyncio.wait_for(wake.wait(), KEEPALIVE_S / 2)
                return wake.is_set(), other_wake.is_set()
        finally:
            await hub.stop()

    woken, other_woken = asyncio.run(scenario())
    assert woken and not other_woken
