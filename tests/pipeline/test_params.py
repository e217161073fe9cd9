"""Step params and the deep merge update runs apply to the trigger payload."""

from __future__ import annotations

import copy

from pipeline.params import deep_merge, step_params

PAYLOAD = {"brief": "A summer wheel", "steps": {"plan": {"title": "Wheel"}, "bgm": {"mood": "calm"}}}


def test_a_step_gets_its_own_slice_of_the_payload() -> None:
    assert step_params(PAYLOAD, "bgm") == {"mood": "calm"}


def test_only_the_plan_step_also_gets_the_brief() -> None:
    assert step_params(PAYLOAD, "plan") == {"title": "Wheel", "brief": "A summer wheel"}
    assert "brief" not in step_params(PAYLOAD, "bgm")


def test_a_step_without_a_slice_gets_empty_params() -> None:
    assert step_params(PAYLOAD, "sfx") == {}
    assert step_params(None, "bgm") == {}
    assert step_params({"steps": "not an object"}, "bgm") == {}
    assert step_params({"brief": "only a brief"}, "plan") == {"brief": "only a brief"}


def test_step_params_does_not_hand_out_the_payload_s_own_dict() -> None:
    payload = copy.deepcopy(PAYLOAD)

    step_params(payload, "plan")["brief"] = "changed"

    assert payload == PAYLOAD


def test_deep_merge_merges_nested_objects() -> None:
    base = {"brief": "x", "steps": {"bgm": {"mood": "calm", "tempo_bpm": 90}, "sfx": {"names": ["click"]}}}
    override = {"steps": {"bgm": {"mood": "happy"}}}

    assert deep_merge(base, override) == {
        "brief": "x",
        "steps": {"bgm": {"mood": "happy", "tempo_bpm": 90}, "sfx": {"names": ["click"]}},
    }


def test_deep_merge_replaces_lists_and_scalars_instead_of_merging_them() -> None:
    base = {"names": ["click", "win"], "n": 1, "obj": {"a": 1}}
    override = {"names": ["lose"], "n": "two", "obj": 3}

    assert deep_merge(base, override) == {"names": ["lose"], "n": "two", "obj": 3}


def test_deep_merge_leaves_both_inputs_unmodified_and_shares_nothing_with_them() -> None:
    base = {"steps": {"bgm": {"mood": "calm"}}, "list": [1]}
    override = {"steps": {"bgm": {"tempo_bpm": 100}, "sfx": {"names": ["a"]}}}
    base_before, override_before = copy.deepcopy(base), copy.deepcopy(override)

    merged = deep_merge(base, override)
    merged["steps"]["bgm"]["mood"] = "changed"
    merged["steps"]["sfx"]["names"].append("b")
    merged["list"].append(2)

    assert base == base_before
    assert override == override_before
