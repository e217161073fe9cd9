"""Without an OTLP endpoint a process sets up no tracing: no SDK provider, no exporter, Celery not instrumented."""

from __future__ import annotations

import pytest
from opentelemetry import trace
from opentelemetry.instrumentation.celery import CeleryInstrumentor
from opentelemetry.sdk.trace import TracerProvider

from tasks.tracing import setup_tracing


@pytest.mark.parametrize(
    "env",
    [
        {"OTEL_SERVICE_NAME": "campaign-worker"},
        # What docker-compose.yml passes through when the shell or .env sets the variable empty: off, not an exporter
        # to "" (nor to the default localhost:4318).
        {"OTEL_EXPORTER_OTLP_ENDPOINT": ""},
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": ""},
    ],
)
def test_without_an_endpoint_no_tracing_is_set_up(env: dict[str, str]) -> None:
    assert setup_tracing(env) is None
    assert not isinstance(trace.get_tracer_provider(), TracerProvider)
    assert not CeleryInstrumentor().is_instrumented_by_opentelemetry
