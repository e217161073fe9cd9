"""Publish run events as Celery task messages on CAMPAIGN_EVENTS_QUEUE, for consumers in any language.

A celery-node (or any Celery) worker that consumes that queue and registers CAMPAIGN_EVENTS_TASK
(`campaign.run_event`) receives one call per event, its only argument the event JSON
(docs/schema/event.schema.json). Publishing never fails a run: a broker hiccup costs an event, logged, not
the step; PostgreSQL NOTIFY (migration 0009) is the second, independent channel for run status changes.
"""

from __future__ import annotations

import logging
import uuid

from celery import Celery

from context.events import EventStatus, RunEvent, RunEventKind, run_event
from tasks.app import app as default_app
from tasks.app import settings

log = logging.getLogger(__name__)

# One quick try: an event is worth less than the step that is waiting on the send.
_SEND_RETRY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}


def publish_event(app: Celery, event: RunEvent) -> bool:
    """Send `event` to the events queue; False when no queue is configured or the send failed."""
    if not settings.events_queue:
        return False
    try:
        app.send_task(
            settings.events_task,
            args=[event.to_json()],
            queue=settings.events_queue,
            ignore_result=True,
            retry_policy=_SEND_RETRY,
        )
    except Exception as e:  # the run goes on without this event; NOTIFY still carries status changes
        log.warning("run event not published", extra={"run_id": event.run_id, "kind": event.kind, "error": str(e)})
        return False
    return True


def emit(
    run_id: str | uuid.UUID,
    tenant_id: str | uuid.UUID,
    kind: RunEventKind,
    status: EventStatus,
    *,
    step: str | None = None,
    reason: str | None = None,
) -> bool:
    """Build an event stamped now and publish it on the worker's app: the one-line call at each transition."""
    if not settings.events_queue:
        return False
    return publish_event(default_app, run_event(run_id, tenant_id, kind, status, step=step, reason=reason))
