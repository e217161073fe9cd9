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


class RunStatusCollector(Collector):
    """`campaign_runs{status}`: the ledger's count per status, every status present (0 when none)."""

    @staticmethod
    def family() -> GaugeMetricFamily:
        return GaugeMetricFamily("campaign_runs", "Runs in the ledger, by status (all tenants).", labels=["status"])

    def describe(self) -> Iterator[GaugeMetricFamily]:  # registering it then reads nothing
        yield self.family()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with api_engine().connect() as conn:
            counts = {str(status): int(runs) for status, runs in conn.execute(_COUNTS)}
        family = self.family()
        for status in RunStatus:
            family.add_metric([status.value], counts.get(status.value, 0))
        yield family


class AdmissionCollector(Collector):
    """`campaign_admissions_waiting{tenant}`: each tenant's queued runs, not yet admitted under its fair share.

    The one metric labelled by tenant, as the issue asks: a series per tenant with runs waiting (tenants with none
    have no series), so its cardinality is the number of tenants waiting at once, not of all tenants."""

    @staticmethod
    def family() -> GaugeMetricFamily:
        return GaugeMetricFamily(
            "campaign_admissions_waiting", "Queued runs not yet admitted, by tenant (ledger).", labels=["tenant"]
        )

    def describe(self) -> Iterator[GaugeMetricFamily]:
        yield self.family()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with api_engine().connect() as conn:
            waiting = [(str(tenant), int(runs)) for tenant, runs in conn.execute(_WAITING)]
        family = self.family()
        for tenant, runs in sorted(waiting):
            family.add_metric([tenant], runs)
        yield family


class QueueDepthCollector(Collector):
    """`campaign_queue_messages{queue}`: messages waiting in each broker queue (the intake queue is `celery`);
    nothing when the broker does not answer within BROKER_TIMEOUT_S (the scrape still serves the rest)."""

    @staticmethod
    def family() -> GaugeMetricFamily:
        return GaugeMetricFamily(
            "campaign_queue_messages",
            f"Messages waiting in each broker queue, every priority ({INTAKE_QUEUE!r} is the intake of starts).",
            labels=["queue"],
        )

    def describe(self) -> Iterator[GaugeMetricFamily]:
        yield self.family()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            depths = queue_depths(app, ALL_QUEUES, connect_timeout_s=BROKER_TIMEOUT_S)
        except Exception as e:  # a broker outage shows as the series going absent, not as a failed scrape
            log.warning("queue depths unavailable: %s", e)
            return
        family = self.family()
        for queue, count in sorted(depths.items()):
            family.add_metric([queue], count)
        yield family


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
