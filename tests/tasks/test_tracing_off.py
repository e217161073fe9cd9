"""Without an OTLP endpoint a process sets up no tracing: no SDK provider, no exporter, Celery not instrumented."""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.instrumentation.celery import CeleryInstrumentor
from opentelemetry.sdk.trace import TracerProvider

from tasks.tracing import setup_tracing


def test_without_an_endpoint_no_tracing_is_set_up() -> None:
    assert setup_tracing({"OTEL_SERVICE_NAME": "campaign-worker"}) is None
    assert not isinstance(trace.get_tracer_provider(), TracerProvider)
    assert not CeleryInstrumentor().is_instrumented_by_opentelemetry
