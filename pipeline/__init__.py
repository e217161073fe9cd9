"""What a campaign workflow is: steps, their graph, hashing and reuse, generators, the artifact store, checks."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipeline.errors import (
        ArtifactIntegrityError,
        GeneratorLoadError,
        PipelineError,
        QualityCheckFailedError,
        StepFailedError,
        StepGraphError,
        TransientStepError,
        UnknownStepError,
        UnsafeArtifactUriError,
        UpdateRequestError,
    )
    from pipeline.executor import StepExecutor, StepResult
    from pipeline.graph import StepGraph
    from pipeline.launch import PreparedRun, RunRequest, prepare_run, validate_request
    from pipeline.merge import merge_branches
    from pipeline.steps import GeneratedOutput, Generator, StepInputs, StepSpec, default_steps
    from pipeline.store import ArtifactStore, LocalArtifactStore

# Imported on first use: `campaign --help` must not pay for SQLAlchemy and every model.
_EXPORTS = {
    "ArtifactIntegrityError": "pipeline.errors",
    "GeneratorLoadError": "pipeline.errors",
    "PipelineError": "pipeline.errors",
    "QualityCheckFailedError": "pipeline.errors",
    "StepFailedError": "pipeline.errors",
    "StepGraphError": "pipeline.errors",
    "TransientStepError": "pipeline.errors",
    "UnknownStepError": "pipeline.errors",
    "UnsafeArtifactUriError": "pipeline.errors",
    "UpdateRequestError": "pipeline.errors",
    "StepExecutor": "pipeline.executor",
    "StepResult": "pipeline.executor",
    "StepGraph": "pipeline.graph",
    "PreparedRun": "pipeline.launch",
    "RunRequest": "pipeline.launch",
    "prepare_run": "pipeline.launch",
    "validate_request": "pipeline.launch",
    "merge_branches": "pipeline.merge",
    "GeneratedOutput": "pipeline.steps",
    "Generator": "pipeline.steps",
    "StepInputs": "pipeline.steps",
    "StepSpec": "pipeline.steps",
    "default_steps": "pipeline.steps",
    "ArtifactStore": "pipeline.store",
    "LocalArtifactStore": "pipeline.store",
}

__all__ = [
    # Steps and their graph
    "GeneratedOutput",
    "Generator",
    "StepGraph",
    "StepInputs",
    "StepSpec",
    "default_steps",
    # Running steps
    "PreparedRun",
    "RunRequest",
    "StepExecutor",
    "StepResult",
    "merge_branches",
    "prepare_run",
    "validate_request",
    # Artifacts
    "ArtifactStore",
    "LocalArtifactStore",
    # Errors
    "ArtifactIntegrityError",
    "GeneratorLoadError",
    "PipelineError",
    "QualityCheckFailedError",
    "StepFailedError",
    "StepGraphError",
    "TransientStepError",
    "UnknownStepError",
    "UnsafeArtifactUriError",
    "UpdateRequestError",
]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
