"""The Celery app: the only Celery() in the codebase, JSON-only, configured from CAMPAIGN_* settings."""

from __future__ import annotations

from celery import Celery
from kombu.entity import Queue

from context.settings import get_settings
from pipeline.policy import DEFAULT_QUEUE, MEDIA_QUEUE
from tasks import logs  # noqa: F401  (connects setup_logging before any worker starts)

settings = get_settings()

# No broker configured: the embedded mode runs the same tasks and driver on an in-process worker.
EMBEDDED_BROKER = "memory://localhost/"
EMBEDDED_BACKEND = "cache+memory://"

app = Celery(
    "campaign",
    broker=settings.broker_url or EMBEDDED_BROKER,
    backend=settings.backend_url or EMBEDDED_BACKEND,
    include=["tasks.worker", "tasks.steps", "tasks.lifecycle"],
)
# Start, cancel and resume messages arrive on Celery's default queue (what any bare client sends to); steps go
# to their policy's queue. A worker given no --queues consumes all of these.
INTAKE_QUEUE = "celery"
STEP_QUEUES = sorted({DEFAULT_QUEUE, MEDIA_QUEUE} | {str(p["queue"]) for p in settings.step_policy.values()
                                                    if isinstance(p, dict) and "queue" in p})  # fmt: skip
ALL_QUEUES = [*STEP_QUEUES, INTAKE_QUEUE]
_transport: dict[str, float] = {"visibility_timeout": settings.visibility_timeout_s}
_broker_transport = {
    **_transport,
    # kombu sweeps every interval x throttle (default 10 x 10 s); one knob is easier to reason about.
    "unacked_restore_interval": settings.unacked_restore_interval_s,
    "unacked_restore_throttle": 1,
    # Message priorities 0 (served first) .. 9: steps of runs in progress before new runs (see tasks.driver).
    "priority_steps": list(range(10)),
}
if settings.embedded:
    _broker_transport = {"polling_interval": 0.02}  # the in-memory queue is polled; its 1 s default idles steps
if settings.broker_url and settings.broker_url.startswith("redis://"):
    # kombu's Redis transport, but a message that is not a JSON envelope is dead-lettered instead of killing the
    # worker (tasks.transport).
    app.conf.broker_transport = "tasks.transport:Transport"
app.conf.update(
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],  # a pickled message is refused, never executed
    result_accept_content=["json"],
    event_serializer="json",
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,  # steps run for minutes; a worker must not hoard them
    # Above the longest step, the same for broker and results (celery#5935): redelivery only after a real loss.
    broker_transport_options=_broker_transport,
    result_backend_transport_options=_transport,
    # The run row is the record: step tasks store no result, only failures (for the error callback to read).
    result_expires=settings.result_expires_s,
    task_default_queue=INTAKE_QUEUE,
    task_queues=[Queue(name) for name in ALL_QUEUES],  # type: ignore[no-untyped-call]
    beat_schedule={
        "sweep": {
            "task": "campaign.sweep",
            "schedule": settings.sweep_interval_s,
            "options": {"queue": DEFAULT_QUEUE, "priority": 0, "expires": settings.sweep_interval_s},
        }
    },
    # Flower follows tasks through events, and enables them itself on the workers when it starts (its
    # --enable_events, on by default): a deployment without Flower sends none unless CAMPAIGN_TASK_EVENTS says so.
    worker_send_task_events=settings.task_events,
    task_send_sent_event=settings.task_events,
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
)
