"""Migration 0011: a step's lookups read only its own run whatever the tenant's history, and lease extensions
are HOT updates (no new index entries), on a throwaway PostgreSQL database."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql as sql_

from context.migrations import upgrade
from tests.services import create_database, drop_database, sqlalchemy_url

pytestmark = pytest.mark.services

HISTORY = 300  # runs of one tenant, with a step row each, before the lookups


@pytest.fixture(scope="module")
def conn() -> Iterator[psycopg.Connection[Any]]:
    name = create_database("campaign_index_test")
    try:
        url = sqlalchemy_url(name)
        upgrade(url)
        with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as c:
            yield c
    finally:
        drop_database(name)


@pytest.fixture(scope="module")
def tenant(conn: psycopg.Connection[Any]) -> uuid.UUID:
    """One tenant with a long history, as the step functions see it: no ANALYZE has run yet."""
    tenant = uuid.uuid4()
    runs = [(uuid.uuid4(), tenant) for _ in range(HISTORY)]
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO app.runs (id, tenant_id, campaign_id, workflow_name, status, epoch, sweeps)"
            " VALUES (%s, %s, gen_random_uuid(), 'w', 'completed', 1, 0)",
            runs,
        )
        cur.executemany(
            "INSERT INTO app.run_steps (run_id, step_id, tenant_id, outcome, attempts, updated_at)"
            " VALUES (%s, 'plan', %s, 'executed', 1, now())",
            runs,
        )
    return tenant


def generic_plan(conn: psycopg.Connection[Any], sql: str, *args: object) -> dict[str, Any]:
    """The plan a cached statement (as in a plpgsql function) runs with, executed: its top scan node."""
    with conn.transaction():
        conn.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        name = f"q_{uuid.uuid4().hex[:8]}"
        conn.execute(f"PREPARE {name} AS {sql}")
        try:
            values = sql_.SQL(", ").join(sql_.Literal(str(a)) for a in args)  # EXECUTE takes no bound parameters
            row = conn.execute(
                sql_.SQL("EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE {}({})").format(sql_.Identifier(name), values)
            )
            plan = row.fetchone()
        finally:
            conn.execute(f"DEALLOCATE {name}")
    assert plan is not None
    node = plan[0][0]["Plan"] if isinstance(plan[0], list) else json.loads(plan[0])[0]["Plan"]
    while "Index Cond" not in node and node.get("Plans"):
        node = node["Plans"][0]
    return dict(node)


@pytest.mark.parametrize(
    ("sql", "key"),
    [
        ("SELECT status FROM app.runs WHERE id = $1 AND tenant_id = $2 FOR UPDATE", "id = $1"),
        ("SELECT step_id FROM app.run_steps WHERE run_id = $1 AND tenant_id = $2 AND result IS NULL", "run_id = $1"),
    ],
)
def test_a_lookup_by_run_and_tenant_goes_to_the_run_not_through_the_tenants_history(
    conn: psycopg.Connection[Any], tenant: uuid.UUID, sql: str, key: str
) -> None:
    run_id = conn.execute("SELECT id FROM app.runs WHERE tenant_id = %s LIMIT 1", (tenant,)).fetchone()
    assert run_id is not None

    node = generic_plan(conn, sql, run_id[0], tenant)

    assert key in node.get("Index Cond", ""), node  # the run is found by the index, not filtered out of many
    assert node.get("Rows Removed by Filter", 0) == 0, node


def test_admission_counts_a_tenants_live_runs_without_reading_its_finished_ones(
    conn: psycopg.Connection[Any], tenant: uuid.UUID
) -> None:
    node = generic_plan(
        conn, "SELECT count(*) FROM app.runs WHERE tenant_id = $1 AND status IN ('pending', 'running')", tenant
    )

    assert node["Index Name"] == "ix_runs_live", node
    assert node.get("Rows Removed by Filter", 0) == 0, node


def test_a_lease_extension_is_a_hot_update(conn: psycopg.Connection[Any]) -> None:
    run_id, tenant = uuid.uuid4(), uuid.uuid4()
    conn.execute(
        "INSERT INTO app.runs (id, tenant_id, campaign_id, workflow_name, status, epoch, sweeps, lease_expires_at)"
        " VALUES (%s, %s, gen_random_uuid(), 'w', 'running', 1, 0, now())",
        (run_id, tenant),
    )
    with conn.transaction():
        # What app.step_start / app.step_finish change on every step.
        conn.execute(
            "UPDATE app.runs SET updated_at = now(), sweeps = 0, lease_expires_at = now() + interval '10 minutes'"
            " WHERE id = %s AND tenant_id = %s",
            (run_id, tenant),
        )
        row = conn.execute(
            "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables WHERE relid = 'app.runs'::regclass"
        ).fetchone()

    assert row == (1, 1)  # updated once, as a heap-only tuple: no index entry added
