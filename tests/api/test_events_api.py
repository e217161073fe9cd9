"""GET /v1/runs/{id}/events: the run's durable event log over SSE, in order, resumable with Last-Event-ID."""

from __future__ import annotations

import json
import threading
import uuid
from typing import Any

import httpx
import jsonschema
import psycopg
import pytest
from sqlalchemy.engine import make_url

from tests.api.conftest import NOOP, Tenant, wait_until_finished
from tests.api.sse import read_events
from tests.services import wait_for
from tests.worker_fixtures import ROOT

EVENT_SCHEMA = json.loads((ROOT / "docs" / "schema" / "event.schema.json").read_text())


def _submitted(http: httpx.Client, tenant: Tenant, payload: dict[str, Any]) -> str:
    run_id = str(http.post("/v1/runs", json={"payload": payload}, headers=tenant.headers).json()["id"])
    # The worker creates the row when it takes the start message (until submit inserts it itself).
    wait_for(
        lambda: http.get(f"/v1/runs/{run_id}", headers=tenant.headers).status_code == 200,
        timeout_s=60,
        what=f"run {run_id} to exist",
    )
    return run_id


def test_a_runs_events_arrive_in_order_from_its_first_to_its_completion(
    http: httpx.Client, tenants: list[Tenant]
) -> None:
    tenant = tenants[0]
    run_id = _submitted(http, tenant, NOOP)

    events = read_events(http, run_id, tenant.headers)

    ids = [i for i, _ in events]
    kinds = [e["kind"] for _, e in events]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert kinds[0] == "queued" and kinds[-1] == "completed", kinds
    assert kinds.count("step_finished") == 12 and kinds.count("running") == 1, kinds
    steps = [e["step"] for _, e in events if e["kind"] == "step_finished"]
    assert steps[0] == "plan" and steps[-1] == "campaign_manifest"
    for _, event in events:
        jsonschema.validate(event, EVENT_SCHEMA)
        assert event["runId"] == run_id and event["tenantId"] == str(tenant.id)


def test_a_reconnect_with_last_event_id_gets_exactly_the_events_it_missed(
    http: httpx.Client, tenants: list[Tenant]
) -> None:
    tenant = tenants[0]
    run_id = _submitted(http, tenant, {**NOOP, "steps": {**NOOP["steps"], "bgm": {"sleep_s": 1}}})

    first = read_events(http, run_id, tenant.headers, count=3)  # then the connection drops
    rest = read_events(http, run_id, tenant.headers, last_id=first[-1][0])
    wait_until_finished(http, run_id, tenant)
    whole = read_events(http, run_id, tenant.headers)  # from the start, after the fact

    assert first + rest == whole
    assert whole[-1][1]["kind"] == "completed"


def test_every_subscriber_sees_every_event(http: httpx.Client, tenants: list[Tenant]) -> None:
    tenant = tenants[0]
    run_id = _submitted(http, tenant, {**NOOP, "steps": {**NOOP["steps"], "plan": {"sleep_s": 1}}})
    seen: list[list[tuple[int, dict[str, Any]]]] = []

    def subscribe() -> None:
        with httpx.Client(base_url=str(http.base_url)) as own:
            seen.append(read_events(own, run_id, tenant.headers))

    threads = [threading.Thread(target=subscribe) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)

    assert len(seen) == 5 and all(s == seen[0] for s in seen)
    assert seen[0][-1][1]["kind"] == "completed" and len(seen[0]) >= 14


def test_the_event_log_is_tenant_scoped_and_written_only_by_its_trigger(
    http: httpx.Client, tenants: list[Tenant], app_pg_url: str
) -> None:
    tenant = tenants[0]
    run_id = _submitted(http, tenant, NOOP)
    wait_until_finished(http, run_id, tenant)
    dsn = make_url(app_pg_url).set(drivername="postgresql").render_as_string(hide_password=False)

    with psycopg.connect(dsn) as conn:

        def count(as_tenant: uuid.UUID) -> int:
            conn.execute("SELECT set_config('app.tenant_id', %s, true)", (str(as_tenant),))
            row = conn.execute("SELECT count(*) FROM app.run_events WHERE run_id = %s", (run_id,)).fetchone()
            return int(row[0]) if row else 0

        assert count(tenant.id) >= 14
        assert count(uuid.uuid4()) == 0
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(
                "INSERT INTO app.run_events (run_id, tenant_id, event) VALUES (%s, %s, '{}')", (run_id, str(tenant.id))
            )
