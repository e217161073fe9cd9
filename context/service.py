"""Create, grow, store and load campaign contexts: the contract's CampaignContextService."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session, sessionmaker

from context.errors import (
    BaseRunNotFoundError,
    ContextCapacityExceededError,
    CorruptContextError,
    DuplicateArtifactIdError,
    InvalidArtifactTypeError,
    UnauthorizedError,
)
from context.models import ArtifactData, CampaignContext, StepArtifact, TriggerInfo, utc_now_iso
from context.registry import ReferenceTypeRegistry
from context.runs import Run, RunRepository
from context.tenancy import check_tenant

DEFAULT_MAX_ARTIFACTS = 50


def decode_context(run_id: uuid.UUID | str, document: Any) -> CampaignContext:
    """Validate a stored context, turning pydantic's report into one error that names the run."""
    if document is None:
        raise CorruptContextError(str(run_id), "the run has no context")
    try:
        return CampaignContext.model_validate(document)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(root)"
        more = f" (and {e.error_count() - 1} more)" if e.error_count() > 1 else ""
        raise CorruptContextError(str(run_id), f"{where}: {first['msg']}{more}") from e


class CampaignContextService:
    """The contract's service; `persist` and `load_from_run` need a session factory."""

    def __init__(
        self,
        registry: ReferenceTypeRegistry,
        *,
        sessions: sessionmaker[Session] | None = None,
        max_artifacts: int = DEFAULT_MAX_ARTIFACTS,
        clock: Callable[[], str] = utc_now_iso,
    ) -> None:
        self.registry, self._sessions, self.max_artifacts, self._clock = registry, sessions, max_artifacts, clock

    def create(
        self, *, campaign_id: str, run_id: str, workflow_name: str, trigger: TriggerInfo | dict[str, Any]
    ) -> CampaignContext:
        """An EMPTY context: no refs, no artifacts, nothing computed."""
        return CampaignContext.model_validate(
            {
                "campaignId": campaign_id,
                "runId": run_id,
                "workflowName": workflow_name,
                "trigger": trigger,
                "refs": {},
                "artifacts": {},
            }
        )

    def attach_step_result(
        self, ctx: CampaignContext, step_id: str, artifacts: Sequence[StepArtifact]
    ) -> CampaignContext:
        """A new context with `artifacts` added and their refs set; `ctx` is left unchanged.

        An artifact that a ref stops pointing at is superseded and leaves the map (with its quality
        checks), so the cap counts live artifacts, as update runs need.
        """
        new = ctx.copy_to_grow()
        now = self._clock()
        seen: set[str] = set()
        for item in artifacts:
            artifact_id = item.artifact_id or str(uuid.uuid4())
            if not self.registry.is_valid_type(item.type):
                raise InvalidArtifactTypeError(item.type, artifact_id)
            if artifact_id in new.artifacts or artifact_id in seen:
                raise DuplicateArtifactIdError(artifact_id, step_id)
            seen.add(artifact_id)
            ref_name = item.ref_name or self.registry.get_ref_name(item.type)
            previous = new.refs.get(ref_name)
            new.artifacts[artifact_id] = ArtifactData(
                type=item.type, uri=item.uri, hash=item.hash, metadata=item.metadata, created_at=now, step_id=step_id
            )
            new.refs[ref_name] = artifact_id
            if previous is not None and previous not in new.refs.values():
                drop_artifact(new, previous)
        if len(new.artifacts) > self.max_artifacts:
            raise ContextCapacityExceededError(step_id, len(new.artifacts), self.max_artifacts)
        return new

    def load_from_run(self, base_run_id: uuid.UUID | str, tenant_id: uuid.UUID | str) -> CampaignContext:
        """The context stored on a run of `tenant_id`; another tenant's run is UnauthorizedError."""
        run = self.load_run(base_run_id, tenant_id)
        return decode_context(run.id, run.context)

    def load_run(self, run_id: uuid.UUID | str, tenant_id: uuid.UUID | str) -> Run:
        """The run row itself (status, error, context), detached from its session."""
        run_uuid, tenant = _as_uuid(run_id, "run id"), _as_uuid(tenant_id, "tenant id")
        check_tenant(tenant)
        with self._session() as session, session.begin():
            repo = RunRepository(session)
            run = repo.get(run_uuid, tenant_id=tenant)
            if run is None:
                if repo.owned_by_another_tenant(run_uuid, tenant_id=tenant):
                    raise UnauthorizedError(f"run {run_uuid} belongs to another tenant than {tenant}")
                raise BaseRunNotFoundError(str(run_uuid))
            return run

    def _session(self) -> Session:
        if self._sessions is None:
            raise RuntimeError("this CampaignContextService was built without a session factory")
        return self._sessions()


def drop_artifact(ctx: CampaignContext, artifact_id: str) -> None:
    """Remove an artifact and the quality checks about it (in place, on a context being built)."""
    ctx.artifacts.pop(artifact_id, None)
    if ctx.computed is not None:
        ctx.computed.quality_checks = [q for q in ctx.computed.quality_checks if q.artifact_id != artifact_id]


def _as_uuid(value: uuid.UUID | str, what: str) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(value)
    except ValueError:
        if what == "run id":  # no run can have that id
            raise BaseRunNotFoundError(str(value)) from None
        raise UnauthorizedError(f"{what} {value!r} is not a UUID") from None
