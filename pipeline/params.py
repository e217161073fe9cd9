"""A step's params: its own slice of the trigger payload, and the deep merge update runs use."""

from __future__ import annotations

import copy
from typing import Any


def step_params(payload: dict[str, Any] | None, step_id: str) -> dict[str, Any]:
    """`payload["steps"][step_id]`, plus the brief for `plan`; changing one step's slice touches that step only."""
    payload = payload or {}
    steps = payload.get("steps")
    own = steps.get(step_id) if isinstance(steps, dict) else None
    params = dict(own) if isinstance(own, dict) else {}
    if step_id == "plan" and "brief" in payload:
        params["brief"] = payload["brief"]
    return params


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """`override` over `base`, recursing into objects; lists and scalars are replaced. Inputs stay untouched."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged
