"""What /metrics serves: gauges read from the ledger and the broker at scrape time, plus the workers' event metrics.

The gauges are read here, on the API, and nowhere else: every worker serving them too would multiply them in a
sum over instances. A gauge read at scrape time is the state itself, so it needs no process to have seen a change
(a run queued by a client that never talks to us, a message left in Redis by a dead worker).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import text

from api.db import api_engine
from context.runs import RunStatus
from context.settings import environment
from tasks.app import ALL_QUEUES, INTAKE_QUEUE, app
from tasks.broker_watch import queue_depths

log = logging.getLogger(__name__)

_COUNTS = text("SELECT status, runs FROM app.run_status_counts()")
_WAITING = text("SELECT tenant_id, runs FROM app.queued_runs_by_tenant()")
BROKER_TIMEOUT_S = 2.0


class ScrapeTimeGauge(Collector):
    """A gauge family with one label, read when scraped; `describe` reads nothing (registering it costs no query)."""

    name = ""
    documentation = ""
    label = ""

    def family(self) -> GaugeMetricFamily:
        return GaugeMetricFamily(self.name, self.documentation, labels=[self.label])

    def describe(self) -> Iterator[GaugeMetricFamily]:
        yield self.family()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = self.family()
        for value, count in self.read():
            family.add_metric([value], count)
        yield family

    def read(self) -> list[tuple[str, int]]:
        """(label value, count) of each series."""
        raise NotImplementedError


class RunStatusCollector(ScrapeTimeGauge):
    """The ledger's count per status, every status present (0 when none)."""

    name, label = "campaign_runs", "status"
    documentation = "Runs in the ledger, by status (all tenants)."

    def read(self) -> list[tuple[str, int]]:
        with api_engine().connect() as conn:
            counts = {str(status): int(runs) for status, runs in conn.execute(_COUNTS)}
        return [(status.value, counts.get(status.value, 0)) for status in RunStatus]


class AdmissionCollector(ScrapeTimeGauge):
    """Each tenant's queued runs, not yet admitted under its fair share.

    The one metric labelled by tenant, as the issue asks: a series per tenant with runs waiting (tenants with none
    have no series), so its cardinality is the number of tenants waiting at once, not of all tenants."""

    name, label = "campaign_admissions_waiting", "tenant"
    documentation = "Queued runs not yet admitted, by tenant (ledger)."

    def read(self) -> list[tuple[str, int]]:
        with api_engine().connect() as conn:
            return sorted((str(tenant), int(runs)) for tenant, runs in conn.execute(_WAITING))


class QueueDepthCollector(ScrapeTimeGauge):
    """Messages waiting in each broker queue; no series when the broker does not answer within BROKER_TIMEOUT_S
    (the scrape still serves the rest)."""

    name, label = "campaign_queue_messages", "queue"
    documentation = f"Messages waiting in each broker queue, every priority ({INTAKE_QUEUE!r} is the intake of starts)."

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            yield from super().collect()
        except Exception as e:  # a broker outage shows as the series going absent, not as a failed scrape
            log.warning("queue depths unavailable: %s", e)

    def read(self) -> list[tuple[str, int]]:
        return sorted(queue_depths(app, ALL_QUEUES, connect_timeout_s=BROKER_TIMEOUT_S).items())


SCRAPE_TIME_COLLECTORS = (RunStatusCollector, AdmissionCollector, QueueDepthCollector)


def exposition() -> bytes:
    """The text exposition: the ledger's and broker's gauges, then the event metrics of every process sharing the
    directory."""
    registry = CollectorRegistry()
    for collector in SCRAPE_TIME_COLLECTORS:
        registry.register(collector())
    if environment().get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest(registry) + generate_latest(REGISTRY)  # this process's own metrics only
