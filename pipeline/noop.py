"""A generator that does (almost) nothing: the smallest valid file of each type, for benchmarks and load tests.

Params it reads (payload["steps"][step]): `sleep_s` to stand in for a slow service, `fail` ("permanent" or
"transient") to stand in for a broken one, and `salt` to change its output.
"""

from __future__ import annotations

import io
import json
import time
import wave
import zipfile
from functools import cache
from typing import Any

from PIL import Image

from pipeline.errors import TransientStepError
from pipeline.param_models import with_test_params
from pipeline.steps import GeneratedOutput, StepInputs

_BOX = {"x": 1, "y": 1, "width": 2, "height": 2}
_JSON: dict[str, dict[str, Any]] = {
    "plan": {"title": "noop", "palette": ["#000000"], "buttons": [{"label": "Play", "outcome": "win"}]},
    "button_segmentation": {"buttons": [_BOX]},
    "audio_manifest": {"bgm": {}, "sfx": {}},
    "game_config": {"title": "noop", "buttons": [_BOX]},
    "campaign_manifest": {"artifacts": {}},
}


@cache
def _binary(kind: str) -> bytes:
    buf = io.BytesIO()
    if kind in ("png", "gif"):
        Image.new("RGB", (2, 2), (0, 0, 0)).save(buf, format=kind.upper())
    elif kind == "wav":
        with wave.open(buf, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(8000)
            w.writeframes(b"\x00\x00" * 8)
    else:
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr(zipfile.ZipInfo("index.html", date_time=(2020, 1, 1, 0, 0, 0)), "<!doctype html><p>noop</p>")
    return buf.getvalue()


_BINARY = {
    "intro_image": ("png", ".png"),
    "intro_video": ("gif", ".gif"),
    "outcome_win_video": ("gif", ".gif"),
    "outcome_lose_video": ("gif", ".gif"),
    "bgm": ("wav", ".wav"),
    "sfx": ("wav", ".wav"),
    "game_bundle": ("zip", ".zip"),
}


def noop(inputs: StepInputs) -> list[GeneratedOutput]:
    sleep_s = float(inputs.params.get("sleep_s", 0))
    if sleep_s > 0:
        time.sleep(sleep_s)
    failure = inputs.params.get("fail")
    if failure == "transient":
        raise TransientStepError(f"step {inputs.step_id}: simulated transient failure")
    if failure == "permanent":
        raise RuntimeError(f"step {inputs.step_id}: simulated permanent failure")
    step = inputs.step_id
    if step in _BINARY:
        kind, suffix = _BINARY[step]
        return [GeneratedOutput(step, _binary(kind), suffix)]
    document = {**_JSON.get(step, {}), "salt": inputs.params.get("salt", "")}
    return [GeneratedOutput(step, json.dumps(document, sort_keys=True).encode(), ".json")]


noop.params_model = with_test_params  # type: ignore[attr-defined]  # the params it reads, for request validation
