"""The durable per-run event log (app.run_events, migration 0013), read in order from an event id on."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from context.tenancy import name_tenant

# The channel the log's trigger notifies with the run id: a wake-up for subscribers, the table is the record.
LOG_CHANNEL = "campaign_run_log"

_AFTER = text(
    "SELECT id, event FROM app.run_events WHERE run_id = :run AND tenant_id = :tenant AND id > :after "
    "ORDER BY id LIMIT :limit"
)


@dataclass(frozen=True)
class LoggedEvent:
    id: int
    event: dict[str, Any]


def events_after(
    session: Session, run_id: uuid.UUID, *, tenant_id: uuid.UUID, after: int = 0, limit: int = 500
) -> list[LoggedEvent]:
    """The run's events with an id above `after`, oldest first; another tenant's run has none."""
    name_tenant(session, tenant_id)
    rows = session.execute(_AFTER, {"run": run_id, "tenant": tenant_id, "after": after, "limit": limit})
    return [LoggedEvent(int(r.id), dict(r.event)) for r in rows]
