"""The error tree of the campaign backend: every error raised on purpose derives from ContextError."""

from __future__ import annotations


class ContextError(Exception):
    """Base of every error the context layer (and the layers above it) raises on purpose."""


class RegistryConfigError(ContextError):
    """Raised when the artifact-type configuration file cannot be used."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"artifact type config {path}: {problem}")
        self.path, self.problem = path, problem


class InvalidArtifactTypeError(ContextError):
    """Raised when an artifact's type is neither standard nor registered."""

    def __init__(self, artifact_type: str, artifact_id: str | None = None) -> None:
        where = f"artifact {artifact_id}: " if artifact_id else ""
        super().__init__(f"{where}type {artifact_type!r} is not registered")
        self.artifact_id, self.artifact_type = artifact_id, artifact_type


class DuplicateArtifactIdError(ContextError):
    """Raised when an attached artifact id is already in the context's artifact map."""

    def __init__(self, artifact_id: str, step_id: str) -> None:
        super().__init__(f"step {step_id}: artifact id {artifact_id} is already in the context")
        self.artifact_id, self.step_id = artifact_id, step_id


class ContextCapacityExceededError(ContextError):
    """Raised when attaching would leave more live artifacts in a context than the cap allows."""

    def __init__(self, step_id: str, count: int, limit: int) -> None:
        super().__init__(f"step {step_id}: context would hold {count} artifacts, the limit is {limit}")
        self.step_id, self.count, self.limit = step_id, count, limit


class RefConflictError(ContextError):
    """Raised when two parallel branches set the same ref to different artifacts."""

    def __init__(self, ref_name: str, first: str, second: str) -> None:
        super().__init__(f"ref {ref_name} set to two artifacts by parallel steps: {first} and {second}")
        self.ref_name = ref_name


class BaseRunNotFoundError(ContextError):
    """Raised when the run an update starts from does not exist for the tenant."""

    def __init__(self, run_id: str) -> None:
        super().__init__(f"run {run_id} not found")
        self.run_id = run_id


class UnauthorizedError(ContextError):
    """Raised when a tenant asks for a run it does not own, or no tenant is set for a query on runs."""

    def __init__(self, message: str) -> None:
        super().__init__(message)


class CorruptContextError(ContextError):
    """Raised when a run's stored context no longer validates against the contract."""

    def __init__(self, run_id: str, problem: str) -> None:
        super().__init__(f"run {run_id}: stored context is invalid: {problem}")
        self.run_id, self.problem = run_id, problem


class SchemaRevisionError(ContextError):
    """Raised when the database's schema is missing, older or newer than this code's migrations."""
