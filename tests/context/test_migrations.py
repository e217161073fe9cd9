"""The Alembic migrations, up and down, on a throwaway PostgreSQL database."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, pool, text

from context.migrations import downgrade, upgrade
from tests.services import (
    create_database,
    create_managed_owner,
    drop_database,
    drop_role,
    sqlalchemy_url,
    sqlalchemy_url_as,
)

pytestmark = pytest.mark.services

SPEC = Path(__file__).resolve().parents[2] / "docs" / "spec" / "campaign-context-data-model.md"


@pytest.fixture
def empty_db_url() -> Iterator[str]:
    name = create_database("campaign_migration_test")
    try:
        yield sqlalchemy_url(name)
    finally:
        drop_database(name)


def spec_comment() -> str:
    match = re.search(r"COMMENT ON COLUMN app\.runs\.context IS '([^']*)';", SPEC.read_text(encoding="utf-8"))
    assert match, f"no COMMENT ON COLUMN in {SPEC}"
    return match.group(1)


def query(url: str, sql: str) -> list[tuple[object, ...]]:
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(text(sql))]
    finally:
        engine.dispose()


def context_column(url: str) -> list[tuple[object, ...]]:
    return query(
        url,
        "SELECT data_type, is_nullable, col_description('app.runs'::regclass, ordinal_position::int)"
        " FROM information_schema.columns"
        " WHERE table_schema = 'app' AND table_name = 'runs' AND column_name = 'context'",
    )


def app_schema(url: str) -> list[tuple[object, ...]]:
    return query(url, "SELECT schema_name FROM information_schema.schemata WHERE schema_name = 'app'")


def test_upgrade_head_adds_a_nullable_jsonb_context_column_with_the_spec_comment(empty_db_url: str) -> None:
    upgrade(empty_db_url)
    assert context_column(empty_db_url) == [("jsonb", "YES", spec_comment())]


def test_downgrade_base_removes_schema_app_and_upgrade_works_again(empty_db_url: str) -> None:
    upgrade(empty_db_url)
    downgrade(empty_db_url, "base")
    assert app_schema(empty_db_url) == []
    upgrade(empty_db_url)
    assert app_schema(empty_db_url) == [("app",)]
    assert context_column(empty_db_url) == [("jsonb", "YES", spec_comment())]


def test_downgrading_below_the_context_migration_drops_only_the_column(empty_db_url: str) -> None:
    upgrade(empty_db_url)
    downgrade(empty_db_url, "0001_create_runs")
    assert context_column(empty_db_url) == []
    assert query(empty_db_url, "SELECT count(*) FROM app.runs") == [(0,)]
    upgrade(empty_db_url, "0002_add_context_column_to_runs")
    assert context_column(empty_db_url) == [("jsonb", "YES", spec_comment())]


def test_a_context_written_as_jsonb_reads_back_as_the_same_document(empty_db_url: str) -> None:
    upgrade(empty_db_url)
    engine = create_engine(empty_db_url, poolclass=pool.NullPool)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO app.runs (id, tenant_id, campaign_id, workflow_name, context) VALUES"
                " (gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), 'wf', CAST(:doc AS jsonb))"
            ),
            {"doc": '{"refs": {}, "trigger": {"payload": {"a": null}}}'},
        )
        stored = conn.execute(text("SELECT context FROM app.runs")).scalar_one()
    engine.dispose()
    assert stored == {"refs": {}, "trigger": {"payload": {"a": None}}}


@pytest.fixture
def managed_db_url() -> Iterator[str]:
    """A database created by and for a role like a managed PostgreSQL's admin: CREATEROLE, no SUPERUSER/BYPASSRLS."""
    owner = create_managed_owner()
    name = create_database("campaign_migration_managed", owner=owner)
    try:
        yield sqlalchemy_url_as(name, owner)
    finally:
        drop_database(name)
        drop_role(owner)


def test_a_managed_databases_admin_migrates_up_and_down_and_keeps_no_inspector_membership(managed_db_url: str) -> None:
    upgrade(managed_db_url)
    downgrade(managed_db_url, "0011_run_indexes")  # 0012's downgrade restores the functions it replaced
    assert query(managed_db_url, "SELECT to_regprocedure('app.sweep_candidates()') IS NOT NULL") == [(True,)]
    upgrade(managed_db_url)
    downgrade(managed_db_url, "base")
    assert app_schema(managed_db_url) == []
    upgrade(managed_db_url)

    inspector_member = "SELECT pg_has_role(current_user, 'campaign_inspector', 'MEMBER')"
    owner_of = "SELECT proowner::regrole::text FROM pg_proc WHERE oid = to_regprocedure(:f)"
    assert query(managed_db_url, inspector_member) == [(False,)]  # or it would read every tenant's rows
    cross_tenant = ("app.sweep_candidates(timestamptz)", "app.run_status_counts()", "app.queued_runs_by_tenant()")
    for function in (*cross_tenant, "app.api_key_tenant(text)"):
        assert query_with(managed_db_url, owner_of, f=function) == [("campaign_inspector",)]


def query_with(url: str, sql: str, **params: object) -> list[tuple[object, ...]]:
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(text(sql), params)]
    finally:
        engine.dispose()
