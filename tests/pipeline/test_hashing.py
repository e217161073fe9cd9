"""Input hashes: canonical JSON, and a hash that moves with exactly what a step's output depends on."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
import rfc8785

from pipeline.hashing import canonical_json, input_hash, is_current_scheme

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
    assert canonical_json(one) == b'{"a":{"x":null,"y":[1,2]},"b":1}'


def test_canonical_json_keeps_list_order() -> None:
    assert canonical_json([1, 2]) != canonical_json([2, 1])


def test_canonical_json_is_rfc_8785_where_python_json_differs() -> None:
    # Keys sort by UTF-16 code units (U+1F600 is D83D DE00, before U+FB33), numbers as ECMAScript writes them.
    document = {"\ufb33": 1, "\U0001f600": 2, "big": 1e21, "one": 1.0, "small": 1e-7, "third": 333333333.33333329}

    assert canonical_json(document).decode() == (
        '{"big":1e+21,"one":1,"small":1e-7,"third":333333333.3333333,"\U0001f600":2,"\ufb33":1}'
    )
    assert json.dumps(document, sort_keys=True, separators=(",", ":")) != canonical_json(document).decode()


# Fixed vectors, also computed in JavaScript (sorted keys + JSON.stringify + sha256 equals JCS for these):
# a TypeScript service recomputing an input hash must get exactly these.
VECTORS = [
    (
        {
            "step_id": "bgm",
            "version": "1",
            "params": {"mood": "calm", "tempo_bpm": 90, "seconds": 2.5, "layers": {"drums": True, "bass": False}},
            "inputs": {"planArtifactId": "a" * 64},
        },
        "jcs-sha256:3b7c655d867fb2199ef0187df54946d5b0040f967626c6bee53454efe423d7dd",
    ),
    (
        {
            "step_id": "plan",
            "version": "2",
            "params": {"brief": "Été ☀️ \U0001f600", "x": 1e21, "y": 1.0, "\ufb33": None, "\U0001f600": 0.1},
            "inputs": {},
        },
        "jcs-sha256:babd8c22ef7d4b010f135f25628960b7e7aa58755bc825c87233680d8979c201",
    ),
]


@pytest.mark.parametrize(("arguments", "expected"), VECTORS, ids=["bgm", "unicode-and-numbers"])
def test_the_input_hash_matches_fixed_vectors(arguments: dict[str, Any], expected: str) -> None:
    assert input_hash(**arguments) == expected
    assert is_current_scheme(expected)


def test_the_input_hash_is_sha256_of_the_documented_canonical_document() -> None:
    document = {"step": "bgm", "version": "1", "params": BASE["params"], "inputs": BASE["inputs"]}
    text = rfc8785.dumps(document)

    assert input_hash(**BASE) == "jcs-sha256:" + hashlib.sha256(text).hexdigest()


def test_a_hash_of_the_earlier_scheme_is_recognised_as_such() -> None:
    document = {"step": "bgm", "version": "1", "params": BASE["params"], "inputs": BASE["inputs"]}
    legacy = hashlib.sha256(json.dumps(document, sort_keys=True, separators=(",", ":")).encode()).hexdigest()

    assert not is_current_scheme(legacy)


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
