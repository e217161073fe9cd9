"""API keys held in PostgreSQL (app.api_keys, migration 0014): made, listed and revoked per tenant, looked up by digest.

Only a key's digest and its first characters are stored; the key itself is returned once, by `create_key`.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from context.tenancy import name_tenant

HASH_PREFIX = "sha256:"
KEY_PREFIX = "ck_"  # says what the string is when it turns up in a log or a paste
PREFIX_CHARS = len(KEY_PREFIX) + 8  # what a listing shows: 48 of the key's 256 random bits


def key_digest(key: str) -> str:
    """How a key is held in memory, in the database, and may be configured: `sha256:` and the hex digest of the key.

    A plain hash is enough: a key is 256 random bits, not a password that a slow hash must protect from guessing.
    """
    return HASH_PREFIX + hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class ApiKey:
    id: uuid.UUID
    prefix: str
    created_at: datetime
    revoked_at: datetime | None


_INSERT = text(
    "INSERT INTO app.api_keys (id, tenant_id, prefix, digest) VALUES (:id, :tenant, :prefix, :digest) "
    "RETURNING id, prefix, created_at, revoked_at"
)
_LIST = text("SELECT id, prefix, created_at, revoked_at FROM app.api_keys ORDER BY created_at, id")
# coalesce: revoking twice keeps the first time.
_REVOKE = text(
    "UPDATE app.api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = :id "
    "RETURNING id, prefix, created_at, revoked_at"
)
_TENANT_OF = text("SELECT app.api_key_tenant(:digest)")


def create_key(session: Session, tenant_id: uuid.UUID) -> tuple[ApiKey, str]:
    """A new key of `tenant_id`, in the caller's transaction: its row and the key, which is stored nowhere."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    name_tenant(session, tenant_id)
    params = {"id": uuid.uuid4(), "tenant": tenant_id, "prefix": key[:PREFIX_CHARS], "digest": key_digest(key)}
    return ApiKey(*session.execute(_INSERT, params).one()), key


def list_keys(session: Session, tenant_id: uuid.UUID) -> list[ApiKey]:
    """The tenant's keys, oldest first, revoked ones included (row-level security shows no other tenant's)."""
    name_tenant(session, tenant_id)
    return [ApiKey(*row) for row in session.execute(_LIST)]


def revoke_key(session: Session, tenant_id: uuid.UUID, key_id: uuid.UUID) -> ApiKey | None:
    """Revoke the tenant's key `key_id`; None when the tenant has no such key (another tenant's reads as missing)."""
    name_tenant(session, tenant_id)
    row = session.execute(_REVOKE, {"id": key_id}).one_or_none()
    return None if row is None else ApiKey(*row)


def tenant_of_key(conn: Connection | Session, key: str) -> uuid.UUID | None:
    """The tenant of `key` when it is a live key of the table; None for an unknown or revoked one."""
    tenant: uuid.UUID | None = conn.execute(_TENANT_OF, {"digest": key_digest(key)}).scalar()
    return tenant
