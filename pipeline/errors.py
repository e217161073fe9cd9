"""Errors of the pipeline layer; they extend the context layer's tree so callers catch one type."""

from __future__ import annotations

from dataclasses import dataclass

from context.errors import ContextError


class PipelineError(ContextError):
    """Base of the errors raised on purpose by step execution, the store and update planning."""


class UnknownStepError(PipelineError):
    """Raised when a step name is not in the workflow's step graph."""

    def __init__(self, names: list[str], known: list[str]) -> None:
        super().__init__(f"unknown step(s): {', '.join(names)}; known steps: {', '.join(known)}")
        self.names = names


class StepGraphError(PipelineError):
    """Raised when step specs do not form a valid graph (cycle, missing producer, two producers)."""


class GeneratorLoadError(PipelineError):
    """Raised when a configured generator's dotted path cannot be imported or is not callable."""

    def __init__(self, step_id: str, path: str, problem: str) -> None:
        super().__init__(f"generator for step {step_id} ({path}): {problem}")


class StepFailedError(PipelineError):
    """Raised when a step's generator fails for a reason that retrying will not fix."""

    def __init__(self, step_id: str, reason: str) -> None:
        super().__init__(f"step {step_id} failed: {reason}")
        self.step_id, self.reason = step_id, reason


class TransientStepError(PipelineError):
    """Raised by a generator for a failure worth retrying (timeouts, rate limits, 5xx from a service).

    `retry_after_s`, when given (a service's Retry-After), replaces the step's own backoff for the next try.
    """

    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class QualityCheckFailedError(PipelineError):
    """Raised when an artifact a step produced fails a quality check."""

    def __init__(self, step_id: str, failures: list[str]) -> None:
        super().__init__(f"step {step_id}: quality check failed: {'; '.join(failures)}")
        self.step_id, self.failures = step_id, failures


class ArtifactIntegrityError(PipelineError):
    """Raised when stored bytes no longer hash to the artifact's recorded hash, or are missing."""

    def __init__(self, uri: str, problem: str) -> None:
        super().__init__(f"artifact {uri}: {problem}")
        self.uri, self.problem = uri, problem


class UnsafeArtifactUriError(PipelineError):
    """Raised when an artifact URI points outside the artifact store's root."""

    def __init__(self, uri: str, root: str) -> None:
        super().__init__(f"artifact uri {uri!r} is outside the store root {root}")
        self.uri = uri


class UpdateRequestError(PipelineError):
    """Raised when an update run cannot start from the requested base run."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a request: where (a JSON path like `payload.steps.bgm.tempo_bpm`) and what."""

    path: str
    message: str


class RequestInvalidError(PipelineError):
    """Raised when a run request fails validation; holds every problem found, not only the first."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(f"{p.path}: {p.message}" for p in problems))
        self.problems = problems
