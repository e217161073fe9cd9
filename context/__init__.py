"""The campaign context contract: models, artifact-type registry, resolver, service and runs store."""

from __future__ import annotations

from context.errors import (
    BaseRunNotFoundError,
    ContextCapacityExceededError,
    ContextError,
    CorruptContextError,
    DuplicateArtifactIdError,
    InvalidArtifactTypeError,
    RefConflictError,
    RegistryConfigError,
    UnauthorizedError,
)
from context.models import (
    ArtifactData,
    CampaignContext,
    ComputedData,
    QualityCheckResult,
    QualityStatus,
    StandardArtifactType,
    StepArtifact,
    TriggerInfo,
    TriggerType,
    utc_now_iso,
)
from context.registry import ReferenceTypeRegistry, ref_name_for
from context.resolver import ContextResolver
from context.runs import Run, RunRepository, RunStatus, RunStep, StepOutcome
from context.service import CampaignContextService, decode_context
from context.tenancy import current_tenant, tenant_scope

__all__ = [
    # Models
    "ArtifactData",
    "CampaignContext",
    "ComputedData",
    "QualityCheckResult",
    "QualityStatus",
    "StandardArtifactType",
    "StepArtifact",
    "TriggerInfo",
    "TriggerType",
    "utc_now_iso",
    # Registry, resolver, service
    "CampaignContextService",
    "ContextResolver",
    "ReferenceTypeRegistry",
    "decode_context",
    "ref_name_for",
    # Runs store and tenancy
    "Run",
    "RunRepository",
    "RunStatus",
    "RunStep",
    "StepOutcome",
    "current_tenant",
    "tenant_scope",
    # Errors
    "BaseRunNotFoundError",
    "ContextCapacityExceededError",
    "ContextError",
    "CorruptContextError",
    "DuplicateArtifactIdError",
    "InvalidArtifactTypeError",
    "RefConflictError",
    "RegistryConfigError",
    "UnauthorizedError",
]
