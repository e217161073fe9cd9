"""Storing contexts on app.runs in the real PostgreSQL: tenant isolation and corrupt rows."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from context.errors import BaseRunNotFoundError, ContextError, CorruptContextError, UnauthorizedError
from context.models import CampaignContext, StepArtifact
from context.registry import ReferenceTypeRegistry
from context.runs import Run, RunRepository
from context.service import CampaignContextService
from context.tenancy import tenant_scope
from tests.context.examples import HASH, TIMESTAMP

pytestmark = pytest.mark.services


@pytest.fixture
def service(pg_sessions: sessionmaker[Session], registry: ReferenceTypeRegistry) -> CampaignContextService:
    return CampaignContextService(registry, sessions=pg_sessions)


def new_run(sessions: sessionmaker[Session], tenant: uuid.UUID) -> uuid.UUID:
    run_id = uuid.uuid4()
    with sessions() as s, s.begin():
        RunRepository(s).add(Run(id=run_id, tenant_id=tenant, campaign_id=uuid.uuid4(), workflow_name="wf"))
    return run_id


def context_for(service: CampaignContextService, run_id: uuid.UUID, *types: str) -> CampaignContext:
    ctx = service.create(
        campaign_id=str(uuid.uuid4()),
        run_id=str(run_id),
        workflow_name="wf",
        trigger={"type": "manual", "timestamp": TIMESTAMP, "payload": {"brief": "x", "budget": None}},
    )
    items = [StepArtifact(type=t, uri=f"file:///{t}", hash=HASH, metadata={"n": None}) for t in types]
    return service.attach_step_result(ctx, "step", items)


def stored_context(sessions: sessionmaker[Session], run_id: uuid.UUID) -> Any:
    """The raw jsonb value, read without the repository."""
    with sessions() as s:
        return s.execute(text("SELECT context FROM app.runs WHERE id = :id"), {"id": run_id}).scalar_one()


def overwrite_context(sessions: sessionmaker[Session], run_id: uuid.UUID, document: Any) -> None:
    """Hand-edit a run's context with raw SQL, as an operator might."""
    with sessions() as s, s.begin():
        s.execute(
            text("UPDATE app.runs SET context = CAST(:doc AS jsonb) WHERE id = :id"),
            {"doc": json.dumps(document), "id": run_id},
        )


def store(sessions: sessionmaker[Session], ctx: CampaignContext, tenant: uuid.UUID) -> None:
    """Write `ctx` on its run's row as `tenant`, as the run driver's final write does."""
    with sessions() as s, s.begin():
        assert RunRepository(s).update_run(uuid.UUID(ctx.run_id), tenant_id=tenant, context=ctx.to_json_dict())


def test_each_tenant_loads_back_the_context_it_persisted(
    service: CampaignContextService, pg_sessions: sessionmaker[Session]
) -> None:
    tenant_a, tenant_b = uuid.uuid4(), uuid.uuid4()
    run_a, run_b = new_run(pg_sessions, tenant_a), new_run(pg_sessions, tenant_b)
    ctx_a, ctx_b = context_for(service, run_a, "plan", "custom_asset"), context_for(service, run_b, "bgm")
    with tenant_scope(tenant_a):
        store(pg_sessions, ctx_a, tenant_a)
    with tenant_scope(tenant_b):
        store(pg_sessions, ctx_b, tenant_b)
    assert service.load_from_run(run_a, tenant_a) == ctx_a
    assert service.load_from_run(str(run_b), str(tenant_b)) == ctx_b
    with tenant_scope(tenant_a):
        assert service.load_from_run(run_a, tenant_a) == ctx_a


def test_the_stored_jsonb_is_the_contract_json(
    service: CampaignContextService, pg_sessions: sessionmaker[Session], pg_admin_sessions: sessionmaker[Session]
) -> None:
    tenant = uuid.uuid4()
    run_id = new_run(pg_sessions, tenant)
    ctx = context_for(service, run_id, "plan")
    with tenant_scope(tenant):
        store(pg_sessions, ctx, tenant)
    stored = stored_context(pg_admin_sessions, run_id)
    assert stored == ctx.to_json_dict()
    assert "computed" not in stored
    assert stored["trigger"]["payload"] == {"brief": "x", "budget": None}
    assert set(stored) == {"campaignId", "runId", "workflowName", "trigger", "refs", "artifacts"}


def test_persisting_again_replaces_the_stored_context(
    service: CampaignContextService, pg_sessions: sessionmaker[Session]
) -> None:
    tenant = uuid.uuid4()
    run_id = new_run(pg_sessions, tenant)
    first = context_for(service, run_id, "plan")
    second = service.attach_step_result(first, "bgm", [StepArtifact(type="bgm", uri="file:///b", hash=HASH)])
    with tenant_scope(tenant):
        store(pg_sessions, first, tenant)
        store(pg_sessions, second, tenant)
    assert service.load_from_run(run_id, tenant) == second


def test_another_tenant_cannot_load_a_run_it_does_not_own(
    service: CampaignContextService, pg_sessions: sessionmaker[Session]
) -> None:
    tenant_a, tenant_b = uuid.uuid4(), uuid.uuid4()
    run_a = new_run(pg_sessions, tenant_a)
    with tenant_scope(tenant_a):
        store(pg_sessions, context_for(service, run_a, "plan"), tenant_a)
    with pytest.raises(UnauthorizedError, match=str(run_a)):
        service.load_from_run(run_a, tenant_b)
    with tenant_scope(tenant_b), pytest.raises(UnauthorizedError):
        service.load_from_run(run_a, tenant_b)


def test_an_unknown_run_is_not_found(service: CampaignContextService, pg_sessions: sessionmaker[Session]) -> None:
    tenant, missing = uuid.uuid4(), uuid.uuid4()
    with pytest.raises(BaseRunNotFoundError, match=str(missing)):
        service.load_from_run(missing, tenant)
    with pytest.raises(BaseRunNotFoundError):
        service.load_from_run("not-a-run-id", tenant)


def test_loading_for_another_tenant_than_the_scoped_one_is_unauthorized(
    service: CampaignContextService, pg_sessions: sessionmaker[Session]
) -> None:
    tenant_a, tenant_b = uuid.uuid4(), uuid.uuid4()
    run_b = new_run(pg_sessions, tenant_b)
    with tenant_scope(tenant_b):
        store(pg_sessions, context_for(service, run_b, "plan"), tenant_b)
    # tenant B owns run_b, so only the scope check can refuse this
    with tenant_scope(tenant_a), pytest.raises(UnauthorizedError, match=str(tenant_b)):
        service.load_from_run(run_b, tenant_b)


def test_a_tenant_id_that_is_not_a_uuid_is_unauthorized(
    service: CampaignContextService, pg_sessions: sessionmaker[Session]
) -> None:
    run_id = new_run(pg_sessions, uuid.uuid4())
    with pytest.raises(UnauthorizedError, match="tenant"):
        service.load_from_run(run_id, "tenant-a")


def test_a_nested_scope_cannot_switch_tenants() -> None:
    with tenant_scope(uuid.uuid4()), pytest.raises(UnauthorizedError), tenant_scope(uuid.uuid4()):
        pass


def test_the_repository_returns_no_run_to_another_tenant(pg_sessions: sessionmaker[Session]) -> None:
    tenant_a, tenant_b = uuid.uuid4(), uuid.uuid4()
    run_a = new_run(pg_sessions, tenant_a)
    with pg_sessions() as s:
        repo = RunRepository(s)
        assert repo.get(run_a, tenant_id=tenant_b) is None
        own = repo.get(run_a, tenant_id=tenant_a)
        assert own is not None and own.tenant_id == tenant_a
        assert repo.list_runs(tenant_id=tenant_b) == []
        assert repo.count(tenant_id=tenant_a) == 1
        assert not repo.update_run(run_a, tenant_id=tenant_b, workflow_name="stolen")
    with pg_sessions() as s:
        assert RunRepository(s).get(run_a, tenant_id=tenant_a).workflow_name == "wf"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (lambda d: d.update(workflowName="x" * 256), "workflowName"),
        (lambda d: d.pop("runId"), "runId"),
        (lambda d: d["trigger"].update(timestamp="2026-11-24T10:15:30"), "timestamp"),
        (lambda d: d["trigger"].update(type="cron"), "type"),
        (lambda d: next(iter(d["artifacts"].values())).update(hash="not-a-hash"), "hash"),
        (lambda d: d["refs"].update(planArtifactId="plan-1"), "planArtifactId"),
        (lambda d: d.update(artifacts=[]), "artifacts"),
    ],
    ids=["long-name", "no-runId", "naive-time", "bad-trigger", "bad-hash", "bad-ref", "artifacts-list"],
)
def test_a_hand_edited_context_is_reported_as_corrupt_naming_the_run_and_field(
    service: CampaignContextService,
    pg_sessions: sessionmaker[Session],
    pg_admin_sessions: sessionmaker[Session],
    edit: Any,
    field: str,
) -> None:
    tenant = uuid.uuid4()
    run_id = new_run(pg_sessions, tenant)
    with tenant_scope(tenant):
        store(pg_sessions, context_for(service, run_id, "plan"), tenant)
    document = stored_context(pg_admin_sessions, run_id)
    edit(document)
    overwrite_context(pg_admin_sessions, run_id, document)
    with pytest.raises(CorruptContextError) as caught:
        service.load_from_run(run_id, tenant)
    assert str(run_id) in str(caught.value)
    assert field in str(caught.value)
    assert isinstance(caught.value.__cause__, ValidationError)
    assert isinstance(caught.value, ContextError)


@pytest.mark.parametrize("document", [None, [], "context", 42, {}], ids=["null", "list", "string", "number", "empty"])
def test_a_context_that_is_not_a_context_object_is_corrupt(
    service: CampaignContextService,
    pg_sessions: sessionmaker[Session],
    pg_admin_sessions: sessionmaker[Session],
    document: Any,
) -> None:
    tenant = uuid.uuid4()
    run_id = new_run(pg_sessions, tenant)
    overwrite_context(pg_admin_sessions, run_id, document)
    with pytest.raises(CorruptContextError, match=str(run_id)):
        service.load_from_run(run_id, tenant)


def test_a_run_that_never_stored_a_context_cannot_be_loaded_from(
    service: CampaignContextService, pg_sessions: sessionmaker[Session]
) -> None:
    tenant = uuid.uuid4()
    run_id = new_run(pg_sessions, tenant)
    with pytest.raises(CorruptContextError, match="no context"):
        service.load_from_run(run_id, tenant)
