"""What /metrics serves: run counts read from the ledger at scrape time, plus the workers' step metrics."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import text

from api.db import api_engine
from context.runs import RunStatus
from context.settings import environment

_COUNTS = text("SELECT status, runs FROM app.run_status_counts()")


class RunStatusCollector(Collector):
    """`campaign_runs{status}`: the ledger's count per status, every status present (0 when none)."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with api_engine().connect() as conn:
            counts = {str(status): int(runs) for status, runs in conn.execute(_COUNTS)}
        family = GaugeMetricFamily("campaign_runs", "Runs in the ledger, by status (all tenants).", labels=["status"])
        for status in RunStatus:
            family.add_metric([status.value], counts.get(status.value, 0))
        yield family


def exposition() -> bytes:
    """The text exposition: the ledger's counts, then the step metrics of every process sharing the directory."""
    registry = CollectorRegistry()
    registry.register(RunStatusCollector())
    if environment().get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest(registry) + generate_latest(REGISTRY)  # this process's own metrics only
