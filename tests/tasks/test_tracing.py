"""OpenTelemetry spans per run and step: a real worker exports them over OTLP/HTTP to a receiver on loopback
when OTEL_EXPORTER_OTLP_ENDPOINT is set (test_tracing_off.py: nothing is set up without it)."""

from __future__ import annotations

import gzip
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from celery import Celery
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from sqlalchemy.orm import Session, sessionmaker

from pipeline.steps import DEFAULT_GRAPH
from tasks.tracing import RUN_ID, STEP_ID
from tests.services import free_port, wait_for
from tests.worker_fixtures import WorkerProcess, client_app, wait_for_run, worker_env

NOOP = {"steps": {step: {"noop": True} for step, _ in DEFAULT_GRAPH}}


@dataclass
class Span:
    name: str
    trace_id: bytes
    attributes: dict[str, object]


@dataclass
class Receiver:
    """What an OTLP/HTTP collector received on /v1/traces, decoded from protobuf."""

    port: int
    spans: list[Span] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def of_run(self, run_id: str) -> list[Span]:
        with self.lock:
            return [s for s in self.spans if s.attributes.get(RUN_ID) == run_id]


def _value(v: object) -> object:
    kind = v.WhichOneof("value")  # type: ignore[attr-defined]
    return getattr(v, kind) if kind else None


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    got = Receiver(free_port())

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            request = ExportTraceServiceRequest.FromString(body)
            spans = [Span(s.name, s.trace_id, {a.key: _value(a.value) for a in s.attributes})
                     for rs in request.resource_spans for ss in rs.scope_spans for s in ss.spans]  # fmt: skip
            with got.lock:
                got.paths.append(self.path)
                got.spans.extend(spans)
            answer = ExportTraceServiceResponse().SerializeToString()
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", got.port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield got
    server.shutdown()
    server.server_close()


@pytest.fixture
def traced_worker(
    app_pg_url: str, fault_redis_url: str, artifact_root: Path, receiver: Receiver, tmp_path: Path
) -> Iterator[tuple[WorkerProcess, Celery]]:
    env = worker_env(app_pg_url, fault_redis_url, artifact_root, OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{receiver.port}",
                     OTEL_BSP_SCHEDULE_DELAY="100")  # fmt: skip
    client = client_app(fault_redis_url)
    worker = WorkerProcess(env, tmp_path / "worker.log")
    worker.start(client)
    yield worker, client
    worker.stop()
    client.close()


def test_a_traced_worker_exports_a_span_per_step_of_a_run_in_one_trace_naming_the_run(
    traced_worker: tuple[WorkerProcess, Celery], receiver: Receiver, pg_sessions: sessionmaker[Session]
) -> None:
    _, client = traced_worker
    tenant, run_id = uuid.uuid4(), uuid.uuid4()
    body = {"tenantId": str(tenant), "runId": str(run_id), "payload": NOOP}
    client.send_task("campaign.start_run", args=[body])
    run, _ = wait_for_run(pg_sessions, run_id, tenant)
    assert run.status == "completed", run.error

    expected = {f"campaign.{step}" for step, _ in DEFAULT_GRAPH} | {"campaign.start_run"}
    # Spans leave in batches every 100 ms (OTEL_BSP_SCHEDULE_DELAY): a few seconds is plenty.
    wait_for(lambda: {s.name.split("/")[-1] for s in receiver.of_run(str(run_id))} >= expected, timeout_s=30,
             what="a span of every step of the run")  # fmt: skip

    spans = receiver.of_run(str(run_id))
    by_task = {s.name.split("/")[-1]: s for s in spans if s.name.startswith("run/")}
    assert set(by_task) == expected
    for step, _ in DEFAULT_GRAPH:
        assert by_task[f"campaign.{step}"].attributes[STEP_ID] == step
    assert len({s.trace_id for s in by_task.values()}) == 1  # each step was sent inside the span before it
    assert set(receiver.paths) == {"/v1/traces"}
