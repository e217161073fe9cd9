"""The tenant of the current unit of work, held in a context variable (the TenantClsService idea)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

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
