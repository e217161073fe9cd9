"""API keys: `Authorization: Bearer KEY` names the tenant every query of the request runs as."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.db import api_engine
from api.refusals import ApiRefusalError
from api.settings import get_api_settings, key_digest
from context.api_keys import tenant_of_key
from pipeline.errors import Problem

# auto_error off: a missing header must answer with our refusal JSON, not FastAPI's {"detail": ...}.
_bearer = HTTPBearer(
    auto_error=False, description="An API key: one of `campaign keys create`, or of CAMPAIGN_API_KEYS."
)
COOKIE = "campaign_key"  # the run page keeps the key here (HttpOnly, SameSite=Strict)


def _unauthorized(message: str) -> ApiRefusalError:
    return ApiRefusalError(401, "unauthorized", [Problem("Authorization", message)], {"WWW-Authenticate": "Bearer"})


def presented_key(request: Request, credentials: HTTPAuthorizationCredentials | None) -> str:
    if credentials is not None and credentials.credentials:
        return credentials.credentials
    cookie = request.cookies.get(COOKIE)
    if cookie:
        return cookie
    raise _unauthorized("missing: send `Authorization: Bearer <API key>`")


def tenant_for_key(key: str) -> uuid.UUID | None:
    """The tenant of `key`: a key of CAMPAIGN_API_KEYS, else a live key of app.api_keys; None for any other.

    The table is read on every request, never cached: a revoked key is refused from its next request on.
    """
    # Looked up by digest: the keys are held only as digests, and a dict lookup leaks nothing useful about them.
    tenant = get_api_settings().api_keys.get(key_digest(key))
    if tenant is not None:
        return tenant
    with api_engine().connect() as conn:
        return tenant_of_key(conn, key)


def tenant_of(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> uuid.UUID:
    """The tenant the key belongs to; an unknown key is refused the same way whatever it is."""
    tenant = tenant_for_key(presented_key(request, credentials))
    if tenant is None:
        raise _unauthorized("not a valid API key")
    return tenant


def metrics_reader(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> None:
    """Metrics count every tenant's runs: only a key of CAMPAIGN_METRICS_KEYS may read them."""
    if key_digest(presented_key(request, credentials)) not in get_api_settings().metrics_keys:
        raise _unauthorized("not a metrics key (CAMPAIGN_METRICS_KEYS)")


Tenant = Annotated[uuid.UUID, Depends(tenant_of)]
MetricsReader = Depends(metrics_reader)
