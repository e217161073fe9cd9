"""The API's tables under row-level security, as the RLS-bound role the API and workers log in as."""

from __future__ import annotations

import uuid

import psycopg
import pytest
from sqlalchemy.engine import make_url


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def test_an_idempotency_key_is_seen_and_written_only_under_its_tenant(app_pg_url: str) -> None:
    mine, theirs, key = uuid.uuid4(), uuid.uuid4(), uuid.uuid4().hex
    insert = "INSERT INTO app.idempotency_keys (tenant_id, key, request_hash, run_id) VALUES (%s, %s, %s, %s)"
    with psycopg.connect(_dsn(app_pg_url)) as conn:
        conn.execute("SELECT set_config('app.tenant_id', %s, false)", (str(mine),))
        conn.execute(insert, (mine, key, "0" * 64, uuid.uuid4()))
        conn.commit()
        conn.execute("SELECT set_config('app.tenant_id', %s, false)", (str(theirs),))
        seen = conn.execute("SELECT count(*) FROM app.idempotency_keys WHERE key = %s", (key,)).fetchone()
        assert seen == (0,)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):  # WITH CHECK: not for another tenant
            conn.execute(insert, (mine, uuid.uuid4().hex, "0" * 64, uuid.uuid4()))
        conn.rollback()
        conn.execute("SELECT set_config('app.tenant_id', %s, false)", (str(mine),))
        assert conn.execute("SELECT count(*) FROM app.idempotency_keys WHERE key = %s", (key,)).fetchone() == (1,)


def test_run_counts_for_metrics_span_tenants_but_reveal_only_counts(app_pg_url: str, pg_admin_url: str) -> None:
    tenants = [uuid.uuid4(), uuid.uuid4()]
    with psycopg.connect(_dsn(pg_admin_url), autocommit=True) as admin:
        before = dict(admin.execute("SELECT status, count(*) FROM app.runs GROUP BY status").fetchall())
        for tenant in tenants:
            admin.execute(
                "INSERT INTO app.runs (id, tenant_id, campaign_id, workflow_name, status, created_at, updated_at) "
                "VALUES (%s, %s, %s, 'campaign', 'cancelled', now(), now())",
                (uuid.uuid4(), tenant, uuid.uuid4()),
            )
    with psycopg.connect(_dsn(app_pg_url)) as conn:
        # No tenant named: row-level security shows this role no run, the function counts them all.
        assert conn.execute("SELECT count(*) FROM app.runs").fetchone() == (0,)
        counts = dict(conn.execute("SELECT status, runs FROM app.run_status_counts()").fetchall())
    assert counts.get("cancelled", 0) == before.get("cancelled", 0) + 2


def test_runs_waiting_for_admission_are_counted_per_tenant_across_tenants(app_pg_url: str, pg_admin_url: str) -> None:
    waiting = {uuid.uuid4(): 2, uuid.uuid4(): 1}
    admitted = uuid.uuid4()  # a tenant whose run is live, not waiting: absent from the counts
    rows = [(uuid.uuid4(), t, "queued") for t, n in waiting.items() for _ in range(n)]
    rows.append((uuid.uuid4(), admitted, "running"))
    with psycopg.connect(_dsn(pg_admin_url), autocommit=True) as admin:
        for run, tenant, status in rows:
            admin.execute(
                "INSERT INTO app.runs (id, tenant_id, campaign_id, workflow_name, status, created_at, updated_at) "
                "VALUES (%s, %s, %s, 'campaign', %s, now(), now())",
                (run, tenant, uuid.uuid4(), status),
            )
        try:
            with psycopg.connect(_dsn(app_pg_url)) as conn:
                counts = dict(conn.execute("SELECT tenant_id, runs FROM app.queued_runs_by_tenant()").fetchall())
        finally:  # no sweeper of a later test may admit rows made up here
            admin.execute("DELETE FROM app.runs WHERE id = ANY(%s)", ([r for r, _, _ in rows],))
    assert {t: counts.get(t) for t in (*waiting, admitted)} == {**waiting, admitted: None}
