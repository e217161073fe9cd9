"""Each step's params as a pydantic model, and the trigger payload they make up, validated before enqueueing.

A generator may declare its own params with a `params_model` attribute (a model class, or a function of the
step id returning one); otherwise the default generator's model below applies. Models are strict (a string is
not an int), forbid unknown keys, and bound every number and text, so a bad payload is refused with its JSON
path instead of failing the run at the step.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from functools import cache
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from pipeline.steps import StepSpec

# Caps on what a client may send; documented in the README (Payload limits).
MAX_BRIEF_CHARS = 2000
MAX_PAYLOAD_BYTES = 64 * 1024  # of the payload's compact JSON, UTF-8
MAX_PAYLOAD_DEPTH = 8  # objects and arrays nested in the payload, the payload itself counting as 1

Label = Annotated[str, Field(min_length=1, max_length=40)]
ShortText = Annotated[str, Field(min_length=1, max_length=200)]
Mood = Annotated[str, Field(min_length=1, max_length=40)]  # known moods pick a scale, others a seeded root
Frames = Annotated[int, Field(ge=1, le=60)]


class StepParams(BaseModel):
    """Base of every step's params: strict types, no unknown keys."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class NoParams(StepParams):
    """A step that reads no params."""


HexColor = Annotated[str, Field(pattern=r"^#[0-9a-fA-F]{6}$")]
GameKind = Literal["wheel", "chests", "scratch", "quiz"]  # pipeline.brief.KINDS
MAX_CHOICES = 8


class CtaParams(StepParams):
    """The call to action shown after a win: a label and the http(s) URL a tap opens."""

    label: Annotated[str, Field(min_length=1, max_length=40)]
    # No escaped quote in the pattern: JSON Schema readers in unicode mode (ajv) refuse "\"" as an escape.
    url: Annotated[str, Field(min_length=8, max_length=2000, pattern=r"""^https?://[^\s<>"']+$""")]


class PlanParams(StepParams):
    """Each one overrides what the brief says (pipeline.brief); the game they make is checked up front by
    pipeline.game_rules (tries below the choices, labels distinct, the winner among them)."""

    buttons: list[Label] | None = Field(default=None, min_length=2, max_length=MAX_CHOICES)
    title: Annotated[str, Field(min_length=1, max_length=120)] | None = None
    mood: Mood | None = None
    palette: list[HexColor] | None = Field(default=None, min_length=1, max_length=5)
    tempo_bpm: Annotated[int, Field(ge=40, le=240)] | None = None
    tries: Annotated[int, Field(ge=1, le=9)] | None = None
    winning_button: Label | Annotated[int, Field(ge=0, lt=MAX_CHOICES)] | None = None
    kind: GameKind | None = None
    question: ShortText | None = None  # what a quiz asks
    cta: CtaParams | None = None


class IntroImageParams(StepParams):
    width: Annotated[int, Field(ge=64, le=1920)] = 640
    height: Annotated[int, Field(ge=64, le=1920)] = 360


class AnimationParams(StepParams):
    frames: Frames = 12


class BgmParams(StepParams):
    mood: Mood | None = None  # None: the plan's mood
    tempo_bpm: Annotated[int, Field(ge=40, le=240)] = 120
    seconds: Annotated[float, Field(gt=0, le=30)] = 4.0


class SfxParams(StepParams):
    names: list[Annotated[str, Field(min_length=1, max_length=32)]] = Field(
        default=["click", "win", "lose"], min_length=1, max_length=16
    )


class AudioManifestParams(StepParams):
    bgm_volume: Annotated[float, Field(ge=0, le=1)] = 0.6


class GameConfigParams(StepParams):
    tries: Annotated[int, Field(ge=1, le=10)] = 1
    win_text: ShortText = "You win!"
    lose_text: ShortText = "Try again!"


DEFAULT_STEP_PARAMS: dict[str, type[StepParams]] = {
    "plan": PlanParams,
    "intro_image": IntroImageParams,
    "intro_video": AnimationParams,
    "button_segmentation": NoParams,
    "bgm": BgmParams,
    "sfx": SfxParams,
    "audio_manifest": AudioManifestParams,
    "game_config": GameConfigParams,
    "game_bundle": NoParams,
    "outcome_win_video": AnimationParams,
    "outcome_lose_video": AnimationParams,
    "campaign_manifest": NoParams,
}

ParamsModelSource = type[BaseModel] | Callable[[str], type[BaseModel]]


def params_model_for(spec: StepSpec) -> type[BaseModel]:
    """The params model of the step's generator: its own `params_model`, else the default step's."""
    declared: ParamsModelSource | None = getattr(spec.generator, "params_model", None)
    if declared is None:
        return DEFAULT_STEP_PARAMS.get(spec.id, NoParams)
    if isinstance(declared, type):
        return declared
    return declared(spec.id)


def payload_model(models: Mapping[str, type[BaseModel]]) -> type[BaseModel]:
    """The trigger payload for steps with these params models: `{"brief": ..., "steps": {step: params}}`."""
    return _payload_model(tuple(models.items()))


@cache
def _payload_model(models: tuple[tuple[str, type[BaseModel]], ...]) -> type[BaseModel]:
    strict = ConfigDict(extra="forbid", strict=True)
    fields: dict[str, Any] = {step_id: (model | None, None) for step_id, model in models}
    steps = create_model("StepParamsByStep", __config__=strict, **fields)
    return create_model(
        "CampaignPayload",
        __config__=strict,
        brief=(Annotated[str, Field(min_length=1, max_length=MAX_BRIEF_CHARS)] | None, None),
        steps=(steps | None, None),
    )


DEFAULT_PAYLOAD = payload_model(DEFAULT_STEP_PARAMS)


def payload_size_problem(payload: Any) -> str | None:
    """Why the payload is too large or too deep to accept, or None; checked before any model walks it."""
    depth = _depth(payload, MAX_PAYLOAD_DEPTH + 1)
    if depth > MAX_PAYLOAD_DEPTH:
        return f"nested more than {MAX_PAYLOAD_DEPTH} levels deep"
    size = len(json.dumps(payload, separators=(",", ":"), ensure_ascii=False, default=str).encode())
    if size > MAX_PAYLOAD_BYTES:
        return f"{size} bytes of JSON, more than the {MAX_PAYLOAD_BYTES} allowed"
    return None


def _depth(value: Any, stop: int) -> int:
    # Iterative with an early stop, so a hostile 100,000-deep document costs no recursion and little time.
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict | list):
            deepest = max(deepest, level)
            if deepest >= stop:
                return deepest
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, level + 1) for child in children)
    return deepest


_Failure = Literal["transient", "permanent"] | None


@cache
def with_test_params(step_id: str) -> type[BaseModel]:
    """The default step's params plus the no-op generator's knobs (`noop`, `sleep_s`, `fail`, `salt`)."""
    return create_model(
        f"{DEFAULT_STEP_PARAMS.get(step_id, NoParams).__name__}WithNoop",
        __base__=DEFAULT_STEP_PARAMS.get(step_id, NoParams),
        noop=(bool, False),
        sleep_s=(Annotated[float, Field(ge=0, le=3600)], 0),
        fail=(_Failure, None),
        salt=(Annotated[str, Field(max_length=200)], ""),
    )
