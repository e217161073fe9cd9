"""Typed step params: a bad payload is refused whole, with one JSON path per problem, before anything runs."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from pydantic import ValidationError

from pipeline.errors import Problem
from pipeline.graph import StepGraph
from pipeline.launch import RunRequest
from pipeline.param_models import (
    DEFAULT_STEP_PARAMS,
    MAX_BRIEF_CHARS,
    MAX_PAYLOAD_BYTES,
    MAX_PAYLOAD_DEPTH,
    with_test_params,
)
from pipeline.problems import forced_step_problems, payload_problems
from pipeline.steps import DEFAULT_GRAPH, default_steps
from tests.generators import dispatch

GRAPH = StepGraph(default_steps())


def paths(payload: dict[str, Any], graph: StepGraph = GRAPH) -> dict[str, str]:
    return {p.path: p.message for p in payload_problems(payload, graph)}


def test_every_default_step_declares_its_params() -> None:
    assert set(DEFAULT_STEP_PARAMS) == {step_id for step_id, _ in DEFAULT_GRAPH}


def test_the_documented_payloads_are_valid() -> None:
    assert paths({}) == {}
    assert paths({"brief": "Spin", "steps": {"plan": {"buttons": ["Spin", "Skip"]}, "bgm": {"tempo_bpm": 124}}}) == {}
    assert paths({"steps": {"bgm": {"mood": "calm", "seconds": 2}, "game_config": {"tries": 1}}}) == {}


def test_a_wrong_type_names_its_json_path_and_what_was_given() -> None:
    found = paths({"steps": {"bgm": {"tempo_bpm": "fast"}}})
    assert found == {"payload.steps.bgm.tempo_bpm": "Input should be a valid integer (got 'fast')"}


def test_every_problem_is_reported_not_only_the_first() -> None:
    found = paths(
        {
            "brief": "x",
            "colour": "red",
            "steps": {"bgm": {"tempo_bpm": 999, "bpm": 90}, "sparkles": {}, "sfx": {"names": ["click", 3]}},
        }
    )
    assert set(found) == {
        "payload.colour",
        "payload.steps.bgm.tempo_bpm",
        "payload.steps.bgm.bpm",
        "payload.steps.sparkles",
        "payload.steps.sfx.names[1]",
    }
    assert "less than or equal to 240" in found["payload.steps.bgm.tempo_bpm"]
    assert found["payload.steps.bgm.bpm"] == "unknown param of step bgm; it takes: mood, tempo_bpm, seconds"
    assert found["payload.steps.sparkles"].startswith("unknown step; known steps: plan, ")


def test_numbers_are_bounded_and_lists_are_not_empty() -> None:
    assert "payload.steps.intro_image.width" in paths({"steps": {"intro_image": {"width": 10_000}}})
    assert "payload.steps.intro_video.frames" in paths({"steps": {"intro_video": {"frames": 0}}})
    assert "payload.steps.plan.buttons" in paths({"steps": {"plan": {"buttons": []}}})
    assert "payload.steps.audio_manifest.bgm_volume" in paths({"steps": {"audio_manifest": {"bgm_volume": 2}}})


def test_a_step_without_params_takes_none() -> None:
    assert paths({"steps": {"game_bundle": {"x": 1}}}) == {
        "payload.steps.game_bundle.x": "unknown param of step game_bundle; it takes: no params"
    }


def test_sizes_are_capped() -> None:
    assert "at most 2000 characters" in paths({"brief": "b" * (MAX_BRIEF_CHARS + 1)})["payload.brief"]
    deep: dict[str, Any] = {}
    node = deep
    for _ in range(MAX_PAYLOAD_DEPTH):
        node["a"] = {}
        node = node["a"]
    assert paths(deep) == {"payload": f"nested more than {MAX_PAYLOAD_DEPTH} levels deep"}
    big = {"brief": "x", "steps": {"sfx": {"names": ["n" * 30] * 3000}}}
    assert "bytes of JSON" in paths(big)["payload"]
    assert len(json.dumps(big)) > MAX_PAYLOAD_BYTES


def test_the_request_model_refuses_an_oversized_payload_itself() -> None:
    with pytest.raises(ValidationError, match="nested more than"):
        RunRequest(tenant_id=uuid.uuid4(), payload={"a": [[[[[[[[[1]]]]]]]]]})


def test_a_generator_can_declare_its_own_params() -> None:
    graph = StepGraph(default_steps(dict.fromkeys(GRAPH.step_ids, dispatch)))
    assert paths({"steps": {"bgm": {"fail": "permanent", "sleep_s": 1.5, "tempo_bpm": 90}}}, graph) == {}
    assert "payload.steps.bgm.fail" in paths({"steps": {"bgm": {"fail": "sometimes"}}}, graph)
    assert "payload.steps.bgm.fail" in paths({"steps": {"bgm": {"fail": "permanent"}}})  # not a default param
    assert with_test_params("bgm").model_fields.keys() >= {"tempo_bpm", "noop"}


def test_unknown_forced_steps_name_their_index() -> None:
    assert forced_step_problems(["bgm", "sparkles"], GRAPH) == [
        Problem("steps[1]", f"unknown step 'sparkles'; known steps: {', '.join(GRAPH.step_ids)}")
    ]
