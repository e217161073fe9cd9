"""Wrap a public task so a refused request fails it with a JSON-safe, structured message (pipeline.refusals)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from pipeline.refusals import refused

F = TypeVar("F", bound=Callable[..., Any])


def refuses_with_json(run_path: str) -> Callable[[F], F]:
    """Decorate a task function (under @app.task); `run_path` names the request field a not-found is about."""

    def wrap(function: F) -> F:
        @functools.wraps(function)
        def task(*args: Any, **kwargs: Any) -> Any:
            try:
                return function(*args, **kwargs)
            except Exception as e:
                converted = refused(e, run_path=run_path)
                if converted is e:
                    raise
                raise converted from e

        return task  # type: ignore[return-value]

    return wrap
