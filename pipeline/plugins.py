"""Swap a step's generator for another callable, named by a dotted path ("package.module:function")."""

from __future__ import annotations

import importlib
from collections.abc import Mapping

from pipeline.errors import GeneratorLoadError
from pipeline.steps import Generator


def load_generator(step_id: str, path: str) -> Generator:
    """Import `module:attribute`; the error names the step, the path and what went wrong."""
    module_name, sep, attr = path.partition(":")
    if not sep or not module_name or not attr:
        raise GeneratorLoadError(step_id, path, "expected 'package.module:callable'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise GeneratorLoadError(step_id, path, f"cannot import {module_name}: {e}") from e
    target = getattr(module, attr, None)
    if not callable(target):
        raise GeneratorLoadError(step_id, path, f"{module_name} has no callable {attr}")
    generator: Generator = target
    return generator


def load_generators(paths: Mapping[str, str], known_steps: list[str]) -> dict[str, Generator]:
    """Step id -> generator for each configured path; the key "*" sets every step not named otherwise."""
    unknown = [s for s in paths if s not in known_steps and s != "*"]
    if unknown:
        raise GeneratorLoadError(", ".join(unknown), str(dict(paths)), f"no such step; known: {', '.join(known_steps)}")
    default = paths.get("*")
    chosen = {step_id: paths.get(step_id, default) for step_id in known_steps}
    return {step_id: load_generator(step_id, path) for step_id, path in chosen.items() if path}
