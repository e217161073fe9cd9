"""A generator for any step that calls an HTTP generation service (image, video, audio, ...), through httpx.

The protocol it speaks:
- `POST <url>` with JSON `{"runId", "stepId", "params", "inputs": {type: {"url", "hash", "mediaType"}}}` (each
  input `url` a time-limited link to the stored artifact) and an `Idempotency-Key` header derived from the
  run, the step and its input hash: a retried or redelivered step sends the same key, so the service can
  answer with the job or result it already has instead of generating (and billing) again.
- `200`: the body is the result, streamed into memory up to `max_bytes`; its Content-Type names the suffix.
- `202`: a job; poll `Location` (or the JSON body's `jobUrl`) with GET until it answers 200 (or redirects to
  the result), waiting `Retry-After` (or `poll_interval_s`) between polls, at most `wait_s` in all.
  Redirects are followed with GET; the auth header goes to the service's own origin only.
- `429`, `408`, `5xx`, timeouts and connection errors: TransientStepError, carrying `Retry-After` as the delay
  of the step's next try; other `4xx`: the step fails with the service's message.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pipeline.errors import GeneratorLoadError, StepFailedError, TransientStepError
from pipeline.steps import GeneratedOutput, Generator, StepInputs
from pipeline.store import ArtifactStore

SUFFIXES = {
    "image/png": ".png",
    "image/gif": ".gif",
    "image/jpeg": ".jpg",
    "image/webp": ".webp",
    "audio/wav": ".wav",
    "audio/x-wav": ".wav",
    "audio/wave": ".wav",
    "audio/mpeg": ".mp3",
    "video/mp4": ".mp4",
    "application/zip": ".zip",
    "application/json": ".json",
    "text/html": ".html",
}
_TRANSIENT_4XX = {408, 425, 429}
_REDIRECTS = {301, 302, 303, 307, 308}
MAX_REDIRECTS = 5


class ServiceConfig(BaseModel):
    """One step's service, from CAMPAIGN_SERVICES: `{"bgm": {"url": "https://...", "auth_env": "BGM_TOKEN"}}`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = Field(pattern=r"^https?://")
    # The name of the environment variable holding the auth header's value (the secret never sits in config).
    auth_env: str | None = None
    auth_header: str = "Authorization"
    timeout_s: float = Field(default=30, gt=0)  # per HTTP request: connect, and between bytes of an answer
    wait_s: float = Field(default=600, gt=0)  # for a 202 job to finish, polls included
    poll_interval_s: float = Field(default=1, gt=0)
    max_retry_after_s: float = Field(default=300, ge=0)  # a longer Retry-After is capped, not obeyed blindly
    link_expires_s: int = Field(default=3600, ge=60)
    max_bytes: int = Field(default=512 * 1024 * 1024, ge=1)
    output_type: str | None = None  # default: the step's id
    suffix: str | None = Field(default=None, pattern=r"^\.[a-z0-9]{1,8}$")  # default: from the Content-Type


def idempotency_key(run_id: str, step_id: str, input_hash: str) -> str:
    """Same run, step and inputs: same key, however often the step is retried or redelivered."""
    return hashlib.sha256(f"{run_id}/{step_id}/{input_hash}".encode()).hexdigest()


@dataclass(frozen=True)
class _Answer:
    status: int
    headers: httpx.Headers
    body: bytes
    url: str


class ServiceParams(BaseModel):
    """A service step's params are the service's to define and check (a 4xx names what it refuses): any JSON
    object, still within the payload's size and depth caps."""

    model_config = ConfigDict(extra="allow")


class ServiceGenerator:
    """A Generator (callable on StepInputs) bound to one step's service, the store that signs input links."""

    params_model = ServiceParams

    def __init__(self, step_id: str, config: ServiceConfig, store: ArtifactStore, auth: str | None) -> None:
        self.step_id, self.config, self.store, self.auth = step_id, config, store, auth

    def __call__(self, inputs: StepInputs) -> list[GeneratedOutput]:
        key = idempotency_key(inputs.run_id, inputs.step_id, inputs.input_hash)
        body = {
            "runId": inputs.run_id,
            "stepId": inputs.step_id,
            "params": dict(inputs.params),
            "inputs": self._input_links(inputs),
        }
        deadline = time.monotonic() + self.config.wait_s
        # Redirects are followed here, not by httpx: the auth header must not follow one to another origin.
        with httpx.Client(timeout=self.config.timeout_s, follow_redirects=False) as client:
            answer = self._send(client, "POST", self.config.url, key, json=body)
            job_url: str | None = None
            hops = 0
            while answer.status == 202 or answer.status in _REDIRECTS:
                if answer.status in _REDIRECTS:  # to the result (or a moved job): fetched with GET
                    hops += 1
                    location = answer.headers.get("location")
                    if not location or hops > MAX_REDIRECTS:
                        raise StepFailedError(
                            self.step_id, f"service answered {answer.status} without a usable Location"
                        )
                    answer = self._send(client, "GET", str(httpx.URL(answer.url).join(location)), key)
                    continue
                # The first 202 names the job; later ones (still running) may move it, or say nothing.
                job_url = self._job_url(answer, job_url)
                pause = _retry_after(answer.headers) or self.config.poll_interval_s
                if time.monotonic() + pause > deadline:
                    raise TransientStepError(
                        f"step {self.step_id}: the service's job {job_url} did not finish within {self.config.wait_s} s"
                    )
                time.sleep(pause)
                answer = self._send(client, "GET", job_url, key)
        if answer.status != 200:
            raise StepFailedError(self.step_id, f"service answered {answer.status} without a result")
        return [self._output(answer)]

    def _headers(self, url: str, key: str) -> dict[str, str]:
        headers = {"Idempotency-Key": key}
        target, service = httpx.URL(url), httpx.URL(self.config.url)
        if self.auth is not None and (target.scheme, target.host, target.port) == (
            service.scheme,
            service.host,
            service.port,
        ):
            headers[self.config.auth_header] = self.auth
        return headers

    def _input_links(self, inputs: StepInputs) -> dict[str, dict[str, Any]]:
        links = {}
        for artifact_type in inputs.input_types:
            art = inputs.artifact(artifact_type)
            links[artifact_type] = {
                "url": self.store.link(art.uri, self.config.link_expires_s),
                "hash": art.hash,
                "mediaType": (art.metadata or {}).get("mediaType"),
            }
        return links

    def _send(self, client: httpx.Client, method: str, url: str, key: str, **kwargs: Any) -> _Answer:
        """One request, its answer read as a stream up to max_bytes; transport trouble and error statuses raised."""
        try:
            with client.stream(method, url, headers=self._headers(url, key), **kwargs) as response:
                data = bytearray()
                for chunk in response.iter_bytes():
                    data.extend(chunk)
                    if len(data) > self.config.max_bytes:
                        raise StepFailedError(self.step_id, f"service answer exceeds {self.config.max_bytes} bytes")
                answer = _Answer(response.status_code, response.headers, bytes(data), str(response.url))
        except httpx.TimeoutException as e:
            raise TransientStepError(f"step {self.step_id}: service timed out ({type(e).__name__}) at {url}") from e
        except httpx.TransportError as e:
            raise TransientStepError(f"step {self.step_id}: service unreachable at {url}: {e}") from e
        self._raise_for_status(answer)
        return answer

    def _raise_for_status(self, answer: _Answer) -> None:
        if answer.status < 400:
            return
        message = f"service answered {answer.status}: {_message(answer)}"
        if answer.status >= 500 or answer.status in _TRANSIENT_4XX:
            delay = _retry_after(answer.headers)
            delay = None if delay is None else min(delay, self.config.max_retry_after_s)
            raise TransientStepError(f"step {self.step_id}: {message}", retry_after_s=delay)
        raise StepFailedError(self.step_id, message)

    def _job_url(self, answer: _Answer, current: str | None) -> str:
        location = answer.headers.get("location")
        if not location:
            try:
                location = json.loads(answer.body).get("jobUrl")
            except (ValueError, AttributeError):
                location = None
        if (not isinstance(location, str) or not location) and current:
            return current
        if not isinstance(location, str) or not location:
            raise StepFailedError(self.step_id, "service answered 202 without a Location header or jobUrl")
        return str(httpx.URL(answer.url).join(location))

    def _output(self, answer: _Answer) -> GeneratedOutput:
        media_type = answer.headers.get("content-type", "").split(";")[0].strip().lower()
        suffix = self.config.suffix or SUFFIXES.get(media_type)
        if suffix is None:
            raise StepFailedError(self.step_id, f"service answered with Content-Type {media_type!r}: no known suffix")
        service = httpx.URL(self.config.url).copy_with(query=None, fragment=None)  # never a token in a query
        metadata = {"mediaType": media_type, "bytes": len(answer.body), "service": str(service)}
        return GeneratedOutput(self.config.output_type or self.step_id, answer.body, suffix, metadata)


def _message(answer: _Answer) -> str:
    """The service's own words: a JSON error/message/detail field, else the start of its body."""
    try:
        document = json.loads(answer.body)
    except ValueError:
        document = None
    if isinstance(document, dict):
        for field in ("error", "message", "detail"):
            if isinstance(document.get(field), str):
                return str(document[field])
    text = answer.body[:500].decode(errors="replace").strip()
    return " ".join(text.split()) or "(no message)"


def _retry_after(headers: httpx.Headers) -> float | None:
    """Retry-After as seconds: a number, or an HTTP date (RFC 9110); None when absent or unreadable."""
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def service_generators(
    configs: Mapping[str, Mapping[str, Any]],
    known_steps: list[str],
    store: ArtifactStore,
    secrets: Mapping[str, str],
) -> dict[str, Generator]:
    """Step id -> ServiceGenerator for each configured step; a bad config or a missing secret raises here."""
    generators: dict[str, Generator] = {}
    for step_id, raw in configs.items():
        if step_id not in known_steps:
            raise GeneratorLoadError(step_id, "CAMPAIGN_SERVICES", f"no such step; known: {', '.join(known_steps)}")
        try:
            config = ServiceConfig.model_validate(raw)
        except ValidationError as e:
            first = e.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "config"
            raise GeneratorLoadError(step_id, "CAMPAIGN_SERVICES", f"{where}: {first['msg']}") from e
        auth = None
        if config.auth_env:
            auth = secrets.get(config.auth_env)
            if not auth:
                raise GeneratorLoadError(
                    step_id, "CAMPAIGN_SERVICES", f"environment variable {config.auth_env} is unset"
                )
        generators[step_id] = ServiceGenerator(step_id, config, store, auth)
    return generators
