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
        """The wire form: `{"code", "message", "errors": [{"path", "message"}]}`, JSON-safe."""
        return {
            "code": self.code,
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
        subject = run_id or (error.run_id if isinstance(error, BaseRunNotFoundError) else None)
        return Refusal("not_found", [Problem(run_path, f"run {subject} not found" if subject else "run not found")])
    if isinstance(error, UnknownStepError):
        return Refusal("invalid_request", [Problem("steps", str(error))])
    if isinstance(error, UpdateRequestError):
        return Refusal("invalid_state", [Problem(run_path, str(error))])
    if isinstance(error, SchemaRevisionError):
        return Refusal("unavailable", [Problem("database", str(error))])
    if isinstance(error, ContextError):
        return Refusal("invalid_request", [Problem(run_path, str(error))])
    return None
