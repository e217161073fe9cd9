"""The campaign context contract: models, artifact-type registry, resolver, service and runs store."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

# Imported on first use: `campaign --help` must not pay for SQLAlchemy and every model.
_EXPORTS = {
    "BaseRunNotFoundError": "context.errors",
    "ContextCapacityExceededError": "context.errors",
    "ContextError": "context.errors",
    "CorruptContextError": "context.errors",
    "DuplicateArtifactIdError": "context.errors",
    "InvalidArtifactTypeError": "context.errors",
    "RefConflictError": "context.errors",
    "RegistryConfigError": "context.errors",
    "UnauthorizedError": "context.errors",
    "ArtifactData": "context.models",
    "CampaignContext": "context.models",
    "ComputedData": "context.models",
    "QualityCheckResult": "context.models",
    "QualityStatus": "context.models",
    "StandardArtifactType": "context.models",
    "StepArtifact": "context.models",
    "TriggerInfo": "context.models",
    "TriggerType": "context.models",
    "utc_now_iso": "context.models",
    "ReferenceTypeRegistry": "context.registry",
    "ref_name_for": "context.registry",
    "ContextResolver": "context.resolver",
    "Run": "context.runs",
    "RunRepository": "context.runs",
    "RunStatus": "context.runs",
    "RunStep": "context.runs",
    "StepOutcome": "context.runs",
    "CampaignContextService": "context.service",
    "decode_context": "context.service",
    "current_tenant": "context.tenancy",
    "tenant_scope": "context.tenancy",
}

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


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
