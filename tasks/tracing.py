"""OpenTelemetry spans per step and run, exported over OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT is set.

Off unless that variable (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set: no provider, no exporter, no thread,
and the Celery signals stay unconnected. On, Celery's instrumentation (opentelemetry-instrumentation-celery) makes
a span of every task a worker runs and carries the trace in the message headers, so the steps a run sends follow
its start in one trace; each step span also names its run (`campaign.run_id`), so a run's spans group even when
the sweeper resent them in a trace of its own. The exporter reads the standard OTEL_* variables itself (endpoint,
headers, compression, timeout); OTEL_SERVICE_NAME overrides the service name.

Set up in each pool process (`worker_process_init`), after the fork: the batch processor's thread and the
exporter's connections must belong to the process that uses them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.celery import CeleryInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

log = logging.getLogger(__name__)

ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
SERVICE_NAME = "campaign-worker"
RUN_ID = "campaign.run_id"
STEP_ID = "campaign.step_id"
TENANT_ID = "campaign.tenant_id"
EPOCH = "campaign.epoch"

_provider: TracerProvider | None = None  # this process's, once set up


def setup_tracing(env: Mapping[str, str]) -> TracerProvider | None:
    """Export this process's task spans when `env` names an OTLP endpoint; None (and nothing set up) otherwise."""
    global _provider
    if _provider is not None or not any(env.get(name) for name in ENDPOINT_VARIABLES):
        return _provider
    provider = TracerProvider(resource=Resource.create({"service.name": SERVICE_NAME}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    CeleryInstrumentor().instrument(tracer_provider=provider)  # type: ignore[no-untyped-call]
    _provider = provider
    log.info("tracing on: task spans exported over OTLP/HTTP")
    return provider


def flush_tracing() -> None:
    """Export what is batched before the process exits (a pool process may exit without running atexit)."""
    if _provider is not None:
        _provider.force_flush()


def mark_run(run_id: str, tenant_id: str, step_id: str | None = None, epoch: int | None = None) -> None:
    """Name the run (and step) on the current task's span; a no-op when tracing is off."""
    span = trace.get_current_span()
    if span.is_recording():
        span.set_attributes({RUN_ID: run_id, TENANT_ID: tenant_id})
        if step_id is not None and epoch is not None:
            span.set_attributes({STEP_ID: step_id, EPOCH: epoch})
