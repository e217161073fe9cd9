"""PostgreSQL row-level security on app.runs: defence in depth under the repository's own tenant filter."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.orm import Session, sessionmaker

from context.runs import Run, RunRepository


@pytest.fixture
def two_tenants_runs(pg_admin_sessions: sessionmaker[Session]) -> tuple[uuid.UUID, uuid.UUID]:
    tenant_a, tenant_b = uuid.uuid4(), uuid.uuid4()
    with pg_admin_sessions() as s, s.begin():
        for tenant in (tenant_a, tenant_a, tenant_b):
            RunRepository(s).add(Run(id=uuid.uuid4(), tenant_id=tenant, campaign_id=uuid.uuid4(), workflow_name="wf"))
    return tenant_a, tenant_b


def _count_as_app_role(sessions: sessionmaker[Session], tenants: list[uuid.UUID], tenant: uuid.UUID | None) -> int:
    with sessions() as s, s.begin():
        s.execute(text("SET LOCAL ROLE campaign_app"))
        if tenant is not None:
            s.execute(text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(tenant)})
        query = text("SELECT count(*) FROM app.runs WHERE tenant_id = ANY(:ids)")
        return int(s.execute(query, {"ids": tenants}).scalar_one())


def test_a_query_without_a_tenant_sees_no_run(
    pg_admin_sessions: sessionmaker[Session], two_tenants_runs: tuple[uuid.UUID, uuid.UUID]
) -> None:
    tenants = list(two_tenants_runs)
    with pg_admin_sessions() as s:  # as the superuser, who bypasses RLS, all three rows are there
        assert (
            s.execute(text("SELECT count(*) FROM app.runs WHERE tenant_id = ANY(:ids)"), {"ids": tenants}).scalar() == 3
        )

    assert _count_as_app_role(pg_admin_sessions, tenants, None) == 0


def test_a_query_sees_only_the_rows_of_the_tenant_its_transaction_names(
    pg_admin_sessions: sessionmaker[Session], two_tenants_runs: tuple[uuid.UUID, uuid.UUID]
) -> None:
    tenant_a, tenant_b = two_tenants_runs

    assert _count_as_app_role(pg_admin_sessions, [tenant_a, tenant_b], tenant_a) == 2
    assert _count_as_app_role(pg_admin_sessions, [tenant_a, tenant_b], tenant_b) == 1


def test_writing_a_row_for_another_tenant_than_the_named_one_is_refused(
    pg_admin_sessions: sessionmaker[Session],
) -> None:
    named, other = uuid.uuid4(), uuid.uuid4()
    with pytest.raises(ProgrammingError, match="row-level security"), pg_admin_sessions() as s, s.begin():
        s.execute(text("SET LOCAL ROLE campaign_app"))
        s.execute(text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(named)})
        s.execute(
            text("INSERT INTO app.runs (id, tenant_id, campaign_id, workflow_name) VALUES (:id, :t, :c, 'wf')"),
            {"id": uuid.uuid4(), "t": other, "c": uuid.uuid4()},
        )


def test_the_repository_names_its_tenant_so_it_works_under_row_level_security(
    pg_admin_sessions: sessionmaker[Session], two_tenants_runs: tuple[uuid.UUID, uuid.UUID]
) -> None:
    tenant_a, tenant_b = two_tenants_runs
    with pg_admin_sessions() as s, s.begin():
        s.execute(text("SET LOCAL ROLE campaign_app"))
        repo = RunRepository(s)
        assert repo.count(tenant_id=tenant_a) == 2
        assert repo.count(tenant_id=tenant_b) == 1
        run_of_b = repo.list_runs(tenant_id=tenant_b)[0]
        assert repo.get(run_of_b.id, tenant_id=tenant_a) is None
        assert repo.owned_by_another_tenant(run_of_b.id, tenant_id=tenant_a)
        assert not repo.owned_by_another_tenant(uuid.uuid4(), tenant_id=tenant_a)
