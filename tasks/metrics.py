"""Event metrics of the workers (prometheus_client): steps from Celery's signals, and what the driver, the
sweeper and the steps record (runs ended, sweeper actions, artifact bytes), observed after their transaction.

Under the prefork pool each child writes its own files in PROMETHEUS_MULTIPROC_DIR (prometheus_client's
multiprocess mode, chosen by that variable being set when the process starts), and whoever serves /metrics
(the API, on the same host or volume) adds them up. Without the variable the metrics stay in the process.

Labels never carry a run or tenant id (unbounded series); what is per tenant is read from the ledger at scrape
time instead (api.metrics). Queue wait is the time from the send (stamped in a message header by
`before_task_publish`, in the sending process) to the start in a worker; run time is from `task_prerun` to
`task_postrun` in the worker child.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from typing import Any, ParamSpec

from celery.signals import before_task_publish, task_postrun, task_prerun, task_retry
from prometheus_client import CollectorRegistry, Counter, Histogram, multiprocess, start_http_server

from context.ledger import RunEnd
from context.settings import environment
from pipeline.steps import DEFAULT_GRAPH

P = ParamSpec("P")
log = logging.getLogger(__name__)
SENT_AT = "campaign_sent_at"  # epoch seconds, set by the sender: clocks of one deployment agree well enough
STEP_TASKS = {f"campaign.{step_id}": step_id for step_id, _ in DEFAULT_GRAPH}
# From a no-op step (ms) to a video render (minutes).
DURATION_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800)
WAIT_BUCKETS = (0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800)

# A run, from its submission (row created) to its end: queue wait and admission included, minutes of renders too.
RUN_BUCKETS = (0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200)

STEP_DURATION = Histogram(
    "campaign_step_duration_seconds", "Run time of a step task, by step, outcome and queue.",
    ["step", "outcome", "queue"], buckets=DURATION_BUCKETS,
)  # fmt: skip
QUEUE_WAIT = Histogram(
    "campaign_step_queue_wait_seconds", "Time from a step's send to its start on a worker, by step and queue.",
    ["step", "queue"], buckets=WAIT_BUCKETS,
)  # fmt: skip
STEP_RETRIES = Counter("campaign_step_retries_total", "Step retries scheduled, by step.", ["step"])
RUN_DURATION = Histogram(
    "campaign_run_duration_seconds", "Runs ended, from submission to end, by outcome (completed, failed, cancelled).",
    ["outcome"], buckets=RUN_BUCKETS,
)  # fmt: skip
SWEEPER_ACTIONS = Counter(
    "campaign_sweeper_actions_total",
    "The sweeper's decisions on runs, by action (taken_over, lost, fail are takeovers; see app.sweep_run).",
    ["action"],
)
ARTIFACT_BYTES = Counter(
    "campaign_artifact_bytes_total", "Bytes of artifacts that executed steps stored and recorded, by artifact type.",
    ["type"],
)  # fmt: skip

_started: dict[str, tuple[float, str]] = {}  # task id -> (monotonic start, queue), in the child running it


def _never_fails(record: Callable[P, None]) -> Callable[P, None]:
    """A metric that cannot be written (a full or read-only PROMETHEUS_MULTIPROC_DIR) is logged, never the reason
    a step or a run fails: these are called on the step path after the ledger committed."""

    @functools.wraps(record)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            record(*args, **kwargs)
        except Exception:
            log.warning("metric not recorded", exc_info=True, extra={"metric": record.__name__})

    return guarded


@_never_fails
def run_ended(end: RunEnd | None) -> None:
    """A run this process ended (its transaction committed); None when the call ended nothing."""
    if end is not None:
        RUN_DURATION.labels(outcome=end.status).observe(max(0.0, end.age_s))


@_never_fails
def swept(action: str) -> None:
    SWEEPER_ACTIONS.labels(action=action).inc()


@_never_fails
def artifacts_stored(stored: tuple[tuple[str, int], ...]) -> None:
    """(artifact type, bytes) of each output of a step whose result was recorded."""
    for artifact_type, size in stored:
        ARTIFACT_BYTES.labels(type=artifact_type).inc(size)


@before_task_publish.connect
def _stamp(sender: str | None = None, headers: dict[str, Any] | None = None, **_: Any) -> None:
    if sender in STEP_TASKS and headers is not None:
        headers[SENT_AT] = time.time()


@task_prerun.connect
def _started_step(task_id: str = "", task: Any = None, **_: Any) -> None:
    step = STEP_TASKS.get(getattr(task, "name", ""))
    if step is None:
        return
    queue = (task.request.delivery_info or {}).get("routing_key") or "unknown"
    _started[task_id] = (time.monotonic(), queue)
    sent_at = getattr(task.request, SENT_AT, None)
    if isinstance(sent_at, int | float):
        QUEUE_WAIT.labels(step=step, queue=queue).observe(max(0.0, time.time() - sent_at))


@task_postrun.connect
def _finished_step(task_id: str = "", task: Any = None, state: str | None = None, **_: Any) -> None:
    step = STEP_TASKS.get(getattr(task, "name", ""))
    started = _started.pop(task_id, None)
    if step is not None and started is not None:
        outcome = (state or "unknown").lower()
        at, queue = started
        STEP_DURATION.labels(step=step, outcome=outcome, queue=queue).observe(time.monotonic() - at)


@task_retry.connect
def _retried(sender: Any = None, **_: Any) -> None:
    step = STEP_TASKS.get(getattr(sender, "name", ""))
    if step is not None:
        STEP_RETRIES.labels(step=step).inc()


class MetricsDirError(ValueError):
    """Raised when a worker is asked to serve metrics without PROMETHEUS_MULTIPROC_DIR."""


def serve_metrics(port: int, host: str = "127.0.0.1") -> None:
    """Serve /metrics from this (the worker's main) process: every process's files in PROMETHEUS_MULTIPROC_DIR,
    the pool children's included, on a daemon thread."""
    folder = environment().get("PROMETHEUS_MULTIPROC_DIR")
    if not folder:
        raise MetricsDirError(
            "--metrics-port needs PROMETHEUS_MULTIPROC_DIR (an empty directory): without it the pool children's "
            "metrics stay in the children"
        )
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=folder)  # type: ignore[no-untyped-call]
    start_http_server(port, addr=host, registry=registry)
