"""What a campaign workflow is: steps, their graph, hashing and reuse, generators, the artifact store, checks."""

from __future__ import annotations

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
