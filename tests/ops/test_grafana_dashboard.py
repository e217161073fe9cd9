"""The Grafana dashboard in docker/grafana queries exactly the metrics the code registers: they cannot drift."""

from __future__ import annotations

import json
import re
from pathlib import Path

from prometheus_client.metrics import MetricWrapperBase

from api.metrics import SCRAPE_TIME_COLLECTORS
from tasks import metrics

DASHBOARD = Path(__file__).resolve().parents[2] / "docker" / "grafana" / "campaign-dashboard.json"
# Series names in PromQL: a metric name is followed by a selector, a range, a space or a closing parenthesis.
_NAME = re.compile(r"\b(campaign_[a-z_]+)\b")
_SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}


def _registered() -> dict[str, str]:
    """Every series name the workers and the API expose, mapped to its metric family's name."""
    families = [f for c in SCRAPE_TIME_COLLECTORS for f in c().describe()]
    families += [f for m in vars(metrics).values() if isinstance(m, MetricWrapperBase) for f in m.describe()]
    return {f.name + suffix: f.name for f in families for suffix in _SUFFIXES[f.type]}


def _queried() -> set[str]:
    panels = json.loads(DASHBOARD.read_text(encoding="utf-8"))["panels"]
    return {name for p in panels for t in p["targets"] for name in _NAME.findall(t["expr"])}


def test_every_metric_the_dashboard_queries_is_registered_and_every_registered_one_has_a_panel() -> None:
    registered, queried = _registered(), _queried()

    assert queried - set(registered) == set()
    assert set(registered.values()) - {registered[name] for name in queried} == set()
