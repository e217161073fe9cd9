"""A small, real HTTP generation service for the tests, on a free loopback port, in a thread of the test process.

It behaves as production image/audio services do, chosen per request by the step's params:
`scenario` = "direct" (200 with the result), "job" (202 + Location, polled `job_polls` times, then a 303 to
the result), "rate_limited" (429 + Retry-After `retry_after` for the first `fail_times` calls of a key),
"flaky" (500 for the first `fail_times`), "slow" (does the work, then answers after `delay_s` for the first
`fail_times` calls), "reject" (422 with a message), "offsite" (303 to `<cdn>/public/<key>`, which
another instance of this service serves without auth). It checks the bearer token and the Idempotency-Key,
fetches every input link and checks its hash, and charges ("pays") once per key that started work.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import urllib.request
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from pipeline.media import synth_bgm
from tests.services import free_port

TOKEN = "Bearer test-generation-token"


@dataclass
class Call:
    at: float
    method: str
    path: str
    key: str | None
    status: int


@dataclass
class State:
    calls: list[Call] = field(default_factory=list)
    attempts: Counter[str] = field(default_factory=Counter)  # POSTs per idempotency key
    paid: Counter[str] = field(default_factory=Counter)  # work started per key: must stay at 1
    results: dict[str, bytes] = field(default_factory=dict)  # key -> result bytes, once the work is done
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)  # job id -> {"key", "polls_left"}
    job_of_key: dict[str, str] = field(default_factory=dict)
    bodies: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    public_auth: list[str | None] = field(default_factory=list)  # Authorization seen on /public/ fetches


class GenerationService:
    def __init__(self) -> None:
        self.port = free_port()
        self.state = State()
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), _handler(self))
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, name="generation-service", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/generate"

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)

    def calls_for(self, key: str) -> list[Call]:
        with self.lock:
            return [c for c in self.state.calls if c.key == key]


def _handler(service: GenerationService) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet: pytest shows failures, not access logs
            pass

        def _answer(self, status: int, body: bytes, content_type: str, **headers: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name.replace("_", "-"), value)
            self.end_headers()
            self.wfile.write(body)
            with service.lock:
                key = self.headers.get("Idempotency-Key")
                service.state.calls.append(Call(time.monotonic(), self.command, self.path, key, status))

        def _error(self, status: int, message: str, **headers: str) -> None:
            self._answer(status, json.dumps({"error": message}).encode(), "application/json", **headers)

        def do_POST(self) -> None:
            if self.path != "/generate":
                return self._error(404, "no such endpoint")
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
            if self.headers.get("Authorization") != TOKEN:
                return self._error(401, "invalid token")
            key = self.headers.get("Idempotency-Key")
            if not key:
                return self._error(400, "Idempotency-Key required")
            params = body.get("params", {})
            scenario = params.get("scenario", "direct")
            with service.lock:
                service.state.attempts[key] += 1
                service.state.bodies[key].append(body)
                attempt = service.state.attempts[key]
                done = service.state.results.get(key)
                job = service.state.job_of_key.get(key)
            if job is not None:  # a repeated key: the same job, not a second one
                return self._answer(202, b"{}", "application/json", Location=f"/jobs/{job}")
            if done is not None:  # the work was done (and paid) for this key already
                return self._answer(200, done, "audio/wav")
            fail_times = int(params.get("fail_times", 1))
            if scenario == "rate_limited" and attempt <= fail_times:
                return self._error(429, "slow down", Retry_After=str(params.get("retry_after", "1")))
            if scenario == "flaky" and attempt <= fail_times:
                return self._error(500, "GPU fell over")
            if scenario == "reject":
                return self._error(422, "the prompt breaks the content policy")
            problem = _check_inputs(body.get("inputs", {}))
            if problem:
                return self._error(400, problem)
            done = _generate(params)
            with service.lock:
                service.state.paid[key] += 1
                service.state.results[key] = done
            if scenario == "job":
                job = uuid.uuid4().hex
                with service.lock:
                    service.state.jobs[job] = {"key": key, "polls_left": int(params.get("job_polls", 2))}
                    service.state.job_of_key[key] = job
                return self._answer(202, json.dumps({"jobUrl": f"/jobs/{job}"}).encode(), "application/json")
            if scenario == "offsite":  # the result lives elsewhere (a CDN, a bucket): a redirect to another origin
                return self._answer(303, b"", "text/plain", Location=f"{params['cdn']}/public/{key}")
            if scenario == "slow" and attempt <= fail_times:
                time.sleep(float(params.get("delay_s", 2)))
            return self._answer(200, done, "audio/wav")

        def do_GET(self) -> None:
            kind, _, job_id = self.path.strip("/").partition("/")
            if kind == "public":  # no auth needed, as a presigned URL or a CDN would serve it
                with service.lock:
                    service.state.public_auth.append(self.headers.get("Authorization"))
                    data = service.state.results.get(job_id)
                if data is None:
                    return self._error(404, "no such result")
                return self._answer(200, data, "audio/wav")
            with service.lock:
                job = service.state.jobs.get(job_id)
                if job is not None and kind == "jobs" and job["polls_left"] > 0:
                    job["polls_left"] -= 1
                    pending = True
                else:
                    pending = False
            if job is None:
                return self._error(404, "no such job")
            if self.headers.get("Authorization") != TOKEN:
                return self._error(401, "invalid token")
            if kind == "jobs":
                if pending:
                    return self._answer(202, b'{"status": "running"}', "application/json")
                return self._answer(303, b"", "text/plain", Location=f"/results/{job_id}")
            return self._answer(200, service.state.results[job["key"]], "audio/wav")

    return Handler


def _check_inputs(inputs: dict[str, Any]) -> str | None:
    """Fetch each input through its link, as a remote service would, and check it is what the hash says."""
    for name, ref in inputs.items():
        with urllib.request.urlopen(ref["url"], timeout=5) as response:
            data = response.read()
        if hashlib.sha256(data).hexdigest() != ref["hash"]:
            return f"input {name}: bytes behind the link do not hash to {ref['hash']}"
    return None


def _generate(params: dict[str, Any]) -> bytes:
    return synth_bgm(mood=str(params.get("mood", "calm")), tempo_bpm=100, seconds=0.5)
