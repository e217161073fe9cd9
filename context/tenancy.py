"""The tenant of a unit of work: held in a context variable at the edges, named to PostgreSQL per transaction."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from sqlalchemy import TextClause, event, text
from sqlalchemy.orm import Session, SessionTransaction

from context.errors import UnauthorizedError

_current: ContextVar[uuid.UUID | None] = ContextVar("campaign_tenant", default=None)


@contextmanager
def tenant_scope(tenant_id: uuid.UUID | str) -> Iterator[uuid.UUID]:
    """Run the enclosed block as `tenant_id`; nested scopes must not switch tenants."""
    tenant = tenant_id if isinstance(tenant_id, uuid.UUID) else uuid.UUID(str(tenant_id))
    outer = _current.get()
    if outer is not None and outer != tenant:
        raise UnauthorizedError(f"tenant {tenant} requested inside the scope of tenant {outer}")
    token = _current.set(tenant)
    try:
        yield tenant
    finally:
        _current.reset(token)


def current_tenant() -> uuid.UUID:
    """The scoped tenant; refusing here is what keeps a query on runs from running without one."""
    tenant = _current.get()
    if tenant is None:
        raise UnauthorizedError("no tenant is set for this unit of work")
    return tenant


def check_tenant(tenant_id: uuid.UUID) -> None:
    """Refuse a request for another tenant than the one in scope (when a scope is set)."""
    scoped = _current.get()
    if scoped is not None and scoped != tenant_id:
        raise UnauthorizedError(f"tenant {scoped} may not act for tenant {tenant_id}")


# The one way a transaction names its tenant to PostgreSQL: row-level security and the ledger's functions read it
# back (app.tenant()). Named once per transaction; set_config(..., true) ends with it.
_NAMED = "campaign_named_tenant"
_NAME_TENANT = text("SELECT set_config('app.tenant_id', :tenant, true)")


# The same naming for a statement that is its own transaction (autocommit): its FROM clause names the tenant before
# its select list runs, so the hot path pays one round trip, not BEGIN, set_config, the call and COMMIT. set_config
# is volatile, so PostgreSQL never pulls the subquery up: it runs first, once, for the one row the call is made on.
_NAMING_STATEMENT = "SELECT {} FROM (SELECT set_config('app.tenant_id', :tenant, true){}) AS named_tenant"
# A commit that does not wait for its WAL to reach the disk (about a millisecond per commit here): PostgreSQL writes it
# within a fraction of a second, and only a crash of the database server itself, in that fraction, loses it. The
# next durable commit of any session flushes it first (the WAL is one sequence).
_NOT_WAITING_FOR_DISK = ", set_config('synchronous_commit', 'off', true)"


def naming_tenant(select_list: str, *, durable: bool = True) -> TextClause:
    """One statement naming its tenant (bound as `:tenant`, see `tenant_params`) before it computes `select_list`;
    for a connection in autocommit, where the statement is the whole transaction. With `durable=False` its commit
    does not wait for the disk: for writes that a database crash may lose without harm (a step's start, a
    heartbeat), never for one that something is sent after."""
    return text(_NAMING_STATEMENT.format(select_list, "" if durable else _NOT_WAITING_FOR_DISK))


def tenant_params(tenant_id: uuid.UUID) -> dict[str, str]:
    """The `:tenant` parameter of a `naming_tenant` statement; refused inside another tenant's scope."""
    check_tenant(tenant_id)
    return {"tenant": str(tenant_id)}


def name_tenant(session: Session, tenant_id: uuid.UUID) -> None:
    """Name `tenant_id` for this transaction of `session`; refused inside another tenant's scope."""
    check_tenant(tenant_id)
    if session.info.get(_NAMED) != tenant_id:
        session.execute(_NAME_TENANT, {"tenant": str(tenant_id)})
        session.info[_NAMED] = tenant_id


@event.listens_for(Session, "after_transaction_end")
def _forget_named_tenant(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the outermost transaction ended: the next one names its tenant again
        session.info.pop(_NAMED, None)
