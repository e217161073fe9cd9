"""What a refused request tells any client, Python or not: an error code and a list of {path, message}.

The CLI's exit code and a Celery task's failure come from the same Refusal, so both say the same thing.
A run of another tenant is refused exactly like a missing one: the answer must not reveal that it exists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import ValidationError

from context.errors import BaseRunNotFoundError, ContextError, SchemaRevisionError, UnauthorizedError
from pipeline.errors import Problem, RequestInvalidError, UnknownStepError, UpdateRequestError
from pipeline.problems import problems_from

RefusalCode = Literal["invalid_request", "invalid_state", "not_found", "unavailable"]

# The CLI's exit code per refusal code (README: 2 bad input, 3 not found, 4 unreachable service).
EXIT_CODES: dict[str, int] = {"invalid_request": 2, "invalid_state": 2, "not_found": 3, "unavailable": 4}


@dataclass(frozen=True)
class Refusal:
    code: RefusalCode
    errors: list[Problem] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.code]

    def to_json(self) -> dict[str, Any]:
        """The wire form: `{"code", "exitCode", "message", "errors": [{"path", "message"}]}`, JSON-safe."""
        return {
            "code": self.code,
            "exitCode": self.exit_code,
            "message": "; ".join(f"{p.path}: {p.message}" for p in self.errors),
            "errors": [{"path": p.path, "message": p.message} for p in self.errors],
        }


def refusal_for(error: BaseException, *, run_id: str | None = None, run_path: str = "runId") -> Refusal | None:
    """The refusal `error` stands for, or None when it is not a refusal (a bug, an outage the caller handles).

    `run_id`/`run_path` name the run the request was about, so not-found and other-tenant read the same.
    """
    if isinstance(error, RequestInvalidError):
        return Refusal("invalid_request", list(error.problems))
    if isinstance(error, ValidationError):
        return Refusal("invalid_request", problems_from(error))
    if isinstance(error, BaseRunNotFoundError | UnauthorizedError):
        # Only the id the caller asked about, never one read from the error: both cases must read the same.
        return Refusal("not_found", [Problem(run_path, f"run {run_id} not found" if run_id else "run not found")])
    if isinstance(error, UnknownStepError):
        return Refusal("invalid_request", [Problem("steps", str(error))])
    if isinstance(error, UpdateRequestError):
        return Refusal("invalid_state", [Problem(run_path, str(error))])
    if isinstance(error, SchemaRevisionError):
        return Refusal("unavailable", [Problem("database", str(error))])
    if isinstance(error, ContextError):
        return Refusal("invalid_request", [Problem(run_path, str(error))])
    return None


class RequestRefusedError(Exception):
    """A refused task request; its only argument is the refusal's JSON, so a Celery failure carries it as is.

    Celery stores a failed task's exception as `{"exc_type", "exc_message": [*args], "exc_module"}`: with the
    JSON serializer a non-Python client reads `exc_message[0]` as `{"code", "exitCode", "message", "errors"}`.
    """

    def __init__(self, refusal: dict[str, Any]) -> None:
        super().__init__(refusal)
        self.refusal = refusal

    def __str__(self) -> str:
        return f"{self.refusal.get('code')}: {self.refusal.get('message')}"


def refused(error: BaseException, *, run_path: str = "runId") -> BaseException:
    """`error` as a RequestRefusedError when it is a refusal, else `error` itself (a bug, an outage: re-raised)."""
    refusal = refusal_for(error, run_path=run_path)
    return error if refusal is None else RequestRefusedError(refusal.to_json())
