"""Turn validation failures into Problems: a JSON path a client can find in what it sent, and a message."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ValidationError

from pipeline.errors import Problem
from pipeline.game_rules import game_problems
from pipeline.graph import StepGraph
from pipeline.param_models import PlanParams, params_model_for, payload_model, payload_size_problem


def json_path(loc: Sequence[int | str]) -> str:
    """`("payload", "steps", "sfx", "names", 1)` -> `payload.steps.sfx.names[1]`."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "(request)"


def problems_from(error: ValidationError, prefix: Sequence[int | str] = ()) -> list[Problem]:
    """One Problem per pydantic error, with unknown keys named as such (pydantic says only "extra inputs")."""
    problems = []
    for item in error.errors(include_url=False):
        loc = (*prefix, *item["loc"])
        message = item["msg"]
        if item["type"] == "extra_forbidden":
            message = "unknown key"
        elif item["type"] not in ("missing",) and _short(item.get("input")):
            message = f"{message} (got {item['input']!r})"
        problems.append(Problem(json_path(loc), message))
    return problems


def _short(value: Any) -> bool:
    return isinstance(value, str | int | float | bool) and len(repr(value)) <= 60


def payload_model_for(graph: StepGraph) -> type[BaseModel]:
    return payload_model({step_id: params_model_for(graph[step_id]) for step_id in graph.step_ids})


def payload_problems(payload: dict[str, Any], graph: StepGraph) -> list[Problem]:
    """Everything wrong with a trigger payload for this graph: size, unknown steps or params, bad values."""
    too_big = payload_size_problem(payload)
    if too_big:
        return [Problem("payload", too_big)]
    try:
        payload_model_for(graph).model_validate(payload)
    except ValidationError as e:
        return [_explain_unknown(p, graph) for p in problems_from(e, ("payload",))]
    if "plan" in graph.specs and issubclass(params_model_for(graph["plan"]), PlanParams):
        # The default plan's game: only its params say what the choices are (a custom plan may mean others).
        return game_problems(payload)
    return []


def _explain_unknown(problem: Problem, graph: StepGraph) -> Problem:
    """Name what is known where an unknown key was found: a misspelling is then one look away."""
    if problem.message != "unknown key":
        return problem
    parts = problem.path.split(".")
    if len(parts) == 2:
        return Problem(problem.path, "unknown key; a payload has: brief, steps")
    if len(parts) == 3 and parts[1] == "steps":
        return Problem(problem.path, f"unknown step; known steps: {', '.join(graph.step_ids)}")
    if len(parts) == 4 and parts[1] == "steps" and parts[2] in graph.specs:
        known = ", ".join(params_model_for(graph[parts[2]]).model_fields) or "no params"
        return Problem(problem.path, f"unknown param of step {parts[2]}; it takes: {known}")
    return problem


def forced_step_problems(names: Sequence[str], graph: StepGraph) -> list[Problem]:
    known = ", ".join(graph.step_ids)
    return [
        Problem(f"steps[{i}]", f"unknown step {name!r}; known steps: {known}")
        for i, name in enumerate(names)
        if name not in graph.specs
    ]
