"""Step specs: what each step of the campaign workflow produces, reads, and which generator makes it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from context.models import ArtifactData
from context.registry import ref_name_for
from pipeline.policy import StepPolicy, default_policy


@dataclass(frozen=True)
class GeneratedOutput:
    """One file a generator made: the bytes, the suffix they are stored under, metadata for the context."""

    type: str
    data: bytes
    suffix: str
    metadata: dict[str, Any] = field(default_factory=dict)


class StepInputs(Protocol):
    """What a generator sees: its params and the artifacts (and their verified bytes) it reads."""

    @property
    def step_id(self) -> str: ...

    @property
    def params(self) -> Mapping[str, Any]: ...

    @property
    def run_id(self) -> str: ...

    @property
    def input_hash(self) -> str:
        """The step's input hash (id, version, params, input hashes): equal inputs, equal hash, in any run."""
        ...

    @property
    def input_types(self) -> tuple[str, ...]: ...

    def artifact(self, artifact_type: str) -> ArtifactData: ...

    def read(self, artifact_type: str) -> bytes: ...

    def read_json(self, artifact_type: str) -> Any: ...

    def read_object(self, uri: str, expected_hash: str) -> bytes: ...


Generator = Callable[[StepInputs], list[GeneratedOutput]]


@dataclass(frozen=True)
class StepSpec:
    """A step: its id, the artifact type it produces, the types it reads, its version, generator and policy."""

    id: str
    output_type: str
    reads: tuple[str, ...]
    version: str
    generator: Generator
    policy: StepPolicy = field(default_factory=StepPolicy)
    # Types the step reads when the run has them, produced by no step: the brand images a request brings
    # (pipeline.brand). Absent, they are not part of the input hash, so runs without them hash as before.
    optional_reads: tuple[str, ...] = ()

    @property
    def output_ref(self) -> str:
        return ref_name_for(self.output_type)

    @property
    def input_refs(self) -> dict[str, str]:
        """Artifact type -> ref name for every input."""
        return {t: ref_name_for(t) for t in self.reads}

    @property
    def optional_refs(self) -> dict[str, str]:
        """Artifact type -> ref name for every input the step reads only when the run has it."""
        return {t: ref_name_for(t) for t in self.optional_reads}

    def with_generator(self, generator: Generator, version: str | None = None) -> StepSpec:
        return replace(self, generator=generator, version=version or self.version)


# (step id == output type, reads): the design's default step graph.
DEFAULT_GRAPH: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("plan", ()),
    ("intro_image", ("plan",)),
    ("intro_video", ("plan", "intro_image")),
    ("button_segmentation", ("intro_image",)),
    ("bgm", ("plan",)),
    ("sfx", ("plan",)),
    ("audio_manifest", ("bgm", "sfx")),
    ("game_config", ("plan", "button_segmentation", "audio_manifest")),
    (
        "game_bundle",
        ("game_config", "intro_image", "intro_video", "audio_manifest", "outcome_win_video", "outcome_lose_video"),
    ),
    ("outcome_win_video", ("plan",)),
    ("outcome_lose_video", ("plan",)),
    (
        "campaign_manifest",
        (
            "plan",
            "intro_image",
            "intro_video",
            "button_segmentation",
            "bgm",
            "sfx",
            "audio_manifest",
            "game_config",
            "game_bundle",
            "outcome_win_video",
            "outcome_lose_video",
        ),
    ),
)


# Bumped with a generator's logic, so an update from a run made before re-executes the step: "2" is the game of
# four mechanics (the plan's kind, question and cta; fonts for every script; the full-screen page; segmentation
# that ignores the holes of letters).
DEFAULT_VERSIONS = {"plan": "2", "intro_image": "2", "button_segmentation": "2", "game_config": "2", "game_bundle": "2"}


def default_steps(
    overrides: Mapping[str, Generator] | None = None,
    versions: Mapping[str, str] | None = None,
    policies: Mapping[str, StepPolicy] | None = None,
) -> list[StepSpec]:
    """The 12 default steps with the offline generators, some swapped by `overrides` (step id -> generator)."""
    from pipeline.brand import OPTIONAL_READS
    from pipeline.generators import DEFAULT_GENERATORS  # the generators module imports this one

    overrides, versions, policies = overrides or {}, versions or {}, policies or {}
    return [
        StepSpec(
            id=step_id,
            output_type=step_id,
            reads=reads,
            version=versions.get(step_id, DEFAULT_VERSIONS.get(step_id, "1")),
            generator=overrides.get(step_id, DEFAULT_GENERATORS[step_id]),
            policy=policies.get(step_id) or default_policy(step_id),
            optional_reads=OPTIONAL_READS.get(step_id, ()),
        )
        for step_id, reads in DEFAULT_GRAPH
    ]
