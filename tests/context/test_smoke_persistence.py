from __future__ import annotations

import uuid

import pytest
from sqlalchemy.orm import Session, sessionmaker

from context import (
    BaseRunNotFoundError,
    CampaignContextService,
    ReferenceTypeRegistry,
    Run,
    RunRepository,
    StepArtifact,
    UnauthorizedError,
    tenant_scope,
)


def _new_run(sessions: sessionmaker[Session], tenant: uuid.UUID) -> uuid.UUID:
    run_id = uuid.uuid4()
    with sessions() as s, s.begin():
        RunRepository(s).add(Run(id=run_id, tenant_id=tenant, campaign_id=uuid.uuid4(), workflow_name="wf"))
    return run_id


def test_a_persisted_context_loads_back_for_its_tenant_only(
    pg_sessions: sessionmaker[Session], registry: ReferenceTypeRegistry
) -> None:
    tenant_a, tenant_b = uuid.uuid4(), uuid.uuid4()
    run_id = _new_run(pg_sessions, tenant_a)
    service = CampaignContextService(registry, sessions=pg_sessions)
    ctx = service.create(
        campaign_id=str(uuid.uuid4()),
        run_id=str(run_id),
        workflow_name="wf",
        trigger={"type": "manual", "timestamp": "2026-11-24T10:15:30.123Z"},
    )
    ctx = service.attach_step_result(ctx, "plan", [StepArtifact(type="plan", uri="file:///x", hash="a" * 64)])
    with tenant_scope(tenant_a):
        service.persist(ctx)
        assert service.load_from_run(run_id, tenant_a) == ctx
    with pytest.raises(UnauthorizedError):
        service.load_from_run(run_id, tenant_b)
    with pytest.raises(BaseRunNotFoundError):
        service.load_from_run(uuid.uuid4(), tenant_a)
