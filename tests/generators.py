"""Generators the test worker is configured with (CAMPAIGN_GENERATORS={"*": "tests.generators:dispatch"}).

The default offline generator runs unless the step's params ask for something else, so one real worker serves
every integration test:
- `noop` (also `sleep_s`, `fail`, `salt`): the smallest valid file, see pipeline.noop;
- `random`: a different output on every call, as an image or LLM service gives; JSON outputs name the hashes of
  the inputs they were built from, so a context that mixes two upstream results is caught;
- `stubborn`: sleeps `sleep_s` and ignores the soft time limit (only the hard limit stops it);
- `kill_worker`: kills the worker process running it, every time (a poison message);
- `bad_format`: returns bytes that are not the artifact's format (a quality check fails);
- `fail_while` (a path): a TransientStepError while that file exists (a service that is down, then back);
- `count_to` (a path): appends the step's id to that file on every call, so a test counts what was paid for.
"""

from __future__ import annotations

import io
import json
import os
import signal
import time
import uuid
from functools import cache
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from PIL import Image
from pydantic import BaseModel, create_model

from pipeline.errors import TransientStepError
from pipeline.generators import DEFAULT_GENERATORS
from pipeline.noop import _BINARY, _JSON, noop
from pipeline.param_models import with_test_params
from pipeline.steps import GeneratedOutput, StepInputs


def dispatch(inputs: StepInputs) -> list[GeneratedOutput]:
    params = inputs.params
    if params.get("count_to"):
        with open(params["count_to"], "a", encoding="utf-8") as calls:
            calls.write(f"{inputs.step_id}\n")
    if params.get("fail_while") and os.path.exists(params["fail_while"]):
        raise TransientStepError(f"{inputs.step_id}: the generation service is down (the flag file exists)")
    if params.get("kill_worker"):
        os.kill(os.getpid(), signal.SIGKILL)
    if params.get("stubborn"):
        _sleep_through_soft_limit(float(params.get("sleep_s", 1)))
    if params.get("bad_format"):
        return [GeneratedOutput(inputs.step_id, b"this is not the format you are looking for", ".bin")]
    if params.get("random"):
        if params.get("sleep_s"):
            time.sleep(float(params["sleep_s"]))
        return random_output(inputs)
    if params.get("noop") or params.get("fail") or params.get("sleep_s"):
        return noop(inputs)
    return DEFAULT_GENERATORS[inputs.step_id](inputs)


def _sleep_through_soft_limit(seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            time.sleep(max(0.0, deadline - time.monotonic()))
        except SoftTimeLimitExceeded:
            continue


def random_output(inputs: StepInputs) -> list[GeneratedOutput]:
    """A valid artifact that differs on every call; JSON ones record the input hashes they saw."""
    step = inputs.step_id
    nonce = uuid.uuid4().hex
    if step in _BINARY:
        kind, suffix = _BINARY[step]
        if kind in ("png", "gif"):
            buf = io.BytesIO()
            color = tuple(bytes.fromhex(nonce[:6]))
            Image.new("RGB", (2, 2), color).save(buf, format=kind.upper())
            return [GeneratedOutput(step, buf.getvalue(), suffix)]
        return noop_with_salt(inputs, nonce)
    seen = {t: inputs.artifact(t).hash for t in inputs.input_types}
    document: dict[str, Any] = {**_JSON.get(step, {}), "nonce": nonce, "builtFrom": seen}
    return [GeneratedOutput(step, json.dumps(document, sort_keys=True).encode(), ".json")]


def noop_with_salt(inputs: StepInputs, nonce: str) -> list[GeneratedOutput]:
    """WAV and zip outputs made different by random content."""
    (out,) = noop(inputs)
    if out.suffix == ".zip":
        import zipfile

        buf = io.BytesIO(out.data)
        with zipfile.ZipFile(buf, "a") as zf:
            zf.writestr("nonce.txt", nonce)
        return [GeneratedOutput(out.type, buf.getvalue(), out.suffix)]
    import wave

    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(bytes.fromhex(nonce))
    return [GeneratedOutput(out.type, buf.getvalue(), out.suffix)]


@cache
def test_params(step_id: str) -> type[BaseModel]:
    """The no-op knobs (pipeline.noop) plus this module's: what the test worker's payloads may carry."""
    return create_model(
        f"{with_test_params(step_id).__name__}ForTests",
        __base__=with_test_params(step_id),
        random=(bool, False),
        stubborn=(bool, False),
        kill_worker=(bool, False),
        bad_format=(bool, False),
        fail_while=(str | None, None),
        count_to=(str | None, None),
    )


dispatch.params_model = test_params  # type: ignore[attr-defined]
