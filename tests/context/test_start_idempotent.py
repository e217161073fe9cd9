"""A start message delivered twice creates one run: the second delivery goes on with the row the first made."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from context.registry import ReferenceTypeRegistry
from context.runs import Run
from context.service import CampaignContextService
from context.tenancy import name_tenant
from pipeline.errors import RequestInvalidError, UpdateRequestError
from pipeline.graph import StepGraph
from pipeline.launch import RunRequest, prepare_run
from pipeline.refusals import refusal_for
from pipeline.steps import default_steps


def _prepare(request: RunRequest, sessions: sessionmaker[Session], registry: ReferenceTypeRegistry):  # type: ignore[no-untyped-def]
    service = CampaignContextService(registry, sessions=sessions)
    return prepare_run(request, service=service, sessions=sessions, graph=StepGraph(default_steps()))


def test_a_second_delivery_finds_the_run_and_creates_nothing(
    pg_sessions: sessionmaker[Session], registry: ReferenceTypeRegistry, tenant: uuid.UUID
) -> None:
    request = RunRequest(tenant_id=tenant, payload={"brief": "x"})
    first = _prepare(request, pg_sessions, registry)
    second = _prepare(request, pg_sessions, registry)

    assert (first.created, second.created) == (True, False)
    assert second.context.to_json_dict() == first.context.to_json_dict()
    with pg_sessions() as s:
        name_tenant(s, tenant)
        assert s.scalar(select(func.count()).select_from(Run).where(Run.id == request.run_id)) == 1


def test_a_redelivery_whose_checks_fail_now_still_finds_its_run(
    pg_sessions: sessionmaker[Session], registry: ReferenceTypeRegistry, tenant: uuid.UUID
) -> None:
    request = RunRequest(tenant_id=tenant)
    _prepare(request, pg_sessions, registry)
    refused = request.model_copy(update={"steps": ["plan"]})  # --steps without a base run: refused on its own
    with pytest.raises(UpdateRequestError, match="forces steps of an update"):
        _prepare(refused.model_copy(update={"run_id": uuid.uuid4()}), pg_sessions, registry)

    assert _prepare(refused, pg_sessions, registry).created is False  # the run this id created stands


def test_a_run_id_taken_by_another_tenant_is_refused_like_any_bad_request_revealing_nothing(
    pg_sessions: sessionmaker[Session], registry: ReferenceTypeRegistry, tenant: uuid.UUID
) -> None:
    request = RunRequest(tenant_id=tenant, payload={"brief": "a secret brief"})
    _prepare(request, pg_sessions, registry)
    with pytest.raises(RequestInvalidError) as refused:
        _prepare(request.model_copy(update={"tenant_id": uuid.uuid4()}), pg_sessions, registry)

    refusal = refusal_for(refused.value)
    assert refusal is not None and refusal.code == "invalid_request"
    assert [p.path for p in refusal.errors] == ["runId"]
    assert str(tenant) not in str(refusal.to_json()) and "secret" not in str(refusal.to_json())
