"""A tenant's runs a page at a time, newest first, filtered by status and creation time (keyset pagination)."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from context.errors import ContextError
from context.runs import Run
from context.tenancy import name_tenant


class BadCursorError(ContextError):
    """Raised when a page cursor was not made by `RunPage.next_cursor`."""

    def __init__(self, cursor: str) -> None:
        super().__init__(f"cursor {cursor[:80]!r} is not one this API returned")
        self.cursor = cursor


@dataclass(frozen=True)
class RunFilter:
    statuses: tuple[str, ...] = ()
    created_after: datetime | None = None  # inclusive
    created_before: datetime | None = None  # exclusive


@dataclass(frozen=True)
class RunPage:
    runs: list[Run]
    next_cursor: str | None  # None: this is the last page


def encode_cursor(run: Run) -> str:
    return base64.urlsafe_b64encode(f"{run.created_at.isoformat()}|{run.id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        created, _, run_id = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        return datetime.fromisoformat(created), uuid.UUID(run_id)
    except ValueError as e:  # binascii.Error and UnicodeDecodeError are ValueErrors too
        raise BadCursorError(cursor) from e


def list_runs(
    session: Session, *, tenant_id: uuid.UUID, where: RunFilter, limit: int, cursor: str | None = None
) -> RunPage:
    """One page of the tenant's runs; the cursor is the last run's (created_at, id), so pages never overlap."""
    name_tenant(session, tenant_id)
    stmt = select(Run).where(Run.tenant_id == tenant_id)
    if where.statuses:
        stmt = stmt.where(Run.status.in_(where.statuses))
    if where.created_after is not None:
        stmt = stmt.where(Run.created_at >= where.created_after)
    if where.created_before is not None:
        stmt = stmt.where(Run.created_at < where.created_before)
    if cursor is not None:
        created, run_id = decode_cursor(cursor)
        stmt = stmt.where(tuple_(Run.created_at, Run.id) < tuple_(created, run_id))
    stmt = stmt.order_by(Run.created_at.desc(), Run.id.desc()).limit(limit + 1)
    runs = list(session.scalars(stmt))
    more = len(runs) > limit
    runs = runs[:limit]
    return RunPage(runs, encode_cursor(runs[-1]) if more and runs else None)
