"""Input hashes: canonical JSON, and a hash that moves with exactly what a step's output depends on."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from pipeline.hashing import canonical_json, input_hash

BASE: dict[str, Any] = {
    "step_id": "bgm",
    "version": "1",
    "params": {"mood": "calm", "tempo_bpm": 90, "layers": {"drums": True, "bass": False}},
    "inputs": {"planArtifactId": "a" * 64},
}


def test_canonical_json_does_not_depend_on_key_order() -> None:
    one = {"b": 1, "a": {"y": [1, 2], "x": None}}
    other = {"a": {"x": None, "y": [1, 2]}, "b": 1}

    assert canonical_json(one) == canonical_json(other)
    assert canonical_json(one) == '{"a":{"x":null,"y":[1,2]},"b":1}'


def test_canonical_json_keeps_list_order() -> None:
    assert canonical_json([1, 2]) != canonical_json([2, 1])


def test_the_input_hash_is_sha256_of_the_documented_canonical_document() -> None:
    document = {"step": "bgm", "version": "1", "params": BASE["params"], "inputs": BASE["inputs"]}
    text = json.dumps(document, sort_keys=True, separators=(",", ":"))

    assert input_hash(**BASE) == hashlib.sha256(text.encode()).hexdigest()


def test_the_input_hash_ignores_the_order_params_were_built_in() -> None:
    reordered = {**BASE, "params": {"layers": {"bass": False, "drums": True}, "tempo_bpm": 90, "mood": "calm"}}

    assert input_hash(**reordered) == input_hash(**BASE)


@pytest.mark.parametrize(
    "change",
    [
        {"step_id": "sfx"},
        {"version": "2"},
        {"params": {**BASE["params"], "mood": "happy"}},
        {"params": {**BASE["params"], "tempo_bpm": 91}},
        {"params": {**BASE["params"], "layers": {"drums": True, "bass": True}}},
        {"params": {**BASE["params"], "extra": None}},
        {"inputs": {"planArtifactId": "b" * 64}},
        {"inputs": {**BASE["inputs"], "sfxArtifactId": "a" * 64}},
    ],
    ids=["step", "version", "param", "numeric-param", "nested-param", "added-param", "input-hash", "added-input"],
)
def test_the_input_hash_changes_with_any_part_it_covers(change: dict[str, Any]) -> None:
    assert input_hash(**{**BASE, **change}) != input_hash(**BASE)


def test_the_input_hash_is_the_same_for_equal_arguments() -> None:
    copy = json.loads(json.dumps(BASE))

    assert input_hash(**copy) == input_hash(**BASE)
