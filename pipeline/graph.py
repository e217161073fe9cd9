"""The step graph: validation, levels of steps that can run side by side, dependents."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from pipeline.errors import StepGraphError, UnknownStepError
from pipeline.steps import StepSpec


class StepGraph:
    """Steps keyed by id, checked once: each input has one producer and there is no cycle."""

    def __init__(self, specs: Sequence[StepSpec]) -> None:
        self.specs = {s.id: s for s in specs}
        if len(self.specs) != len(specs):
            raise StepGraphError("two steps share an id")
        self._producer: dict[str, str] = {}
        for spec in specs:
            if spec.output_type in self._producer:
                raise StepGraphError(
                    f"type {spec.output_type} is produced by {self._producer[spec.output_type]} and {spec.id}"
                )
            self._producer[spec.output_type] = spec.id
        for spec in specs:
            missing = [t for t in spec.reads if t not in self._producer]
            if missing:
                raise StepGraphError(f"step {spec.id} reads {', '.join(missing)}, which no step produces")
        # Each step's producers: what must be recorded before it may start.
        self.deps = {s.id: sorted({self._producer[t] for t in s.reads}) for s in specs}
        self.levels = self._levels()

    def _levels(self) -> list[list[str]]:
        deps = {sid: set(d) for sid, d in self.deps.items()}
        done: set[str] = set()
        levels: list[list[str]] = []
        while len(done) < len(deps):
            ready = [sid for sid, d in deps.items() if sid not in done and d <= done]
            if not ready:
                raise StepGraphError(f"cycle among steps {', '.join(sorted(set(deps) - done))}")
            levels.append(ready)
            done.update(ready)
        return levels

    def __getitem__(self, step_id: str) -> StepSpec:
        return self.specs[step_id]

    @property
    def step_ids(self) -> list[str]:
        return [sid for level in self.levels for sid in level]

    def check_names(self, names: Iterable[str]) -> list[str]:
        """`names` as a list, or UnknownStepError naming each one not in the graph."""
        names = list(names)
        unknown = [n for n in names if n not in self.specs]
        if unknown:
            raise UnknownStepError(unknown, self.step_ids)
        return names

    def producer_of(self, artifact_type: str) -> str:
        return self._producer[artifact_type]
