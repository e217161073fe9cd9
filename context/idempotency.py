"""Idempotency keys of run requests (app.idempotency_keys, migration 0013): one run per tenant, key and body."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from typing import Any

import rfc8785
from sqlalchemy import text
from sqlalchemy.orm import Session

from context.tenancy import name_tenant

# Waits on the primary key while another transaction holds the same key uncommitted: the second request with a
# key learns the first one's run, or takes the key over when the first one rolled back.
_CLAIM = text(
    "INSERT INTO app.idempotency_keys (tenant_id, key, request_hash, run_id) VALUES (:tenant, :key, :hash, :run) "
    "ON CONFLICT (tenant_id, key) DO NOTHING RETURNING run_id"
)
_EXISTING = text("SELECT request_hash, run_id FROM app.idempotency_keys WHERE tenant_id = :tenant AND key = :key")


def request_hash(body: Any) -> str:
    """sha256 of the body's RFC 8785 canonical JSON: the same request with keys in another order hashes alike."""
    return hashlib.sha256(rfc8785.dumps(body)).hexdigest()


@dataclass(frozen=True)
class Claim:
    run_id: uuid.UUID
    new: bool  # True: this request holds the key and must make the run; False: the key's run exists
    same_body: bool = True


def claim_key(session: Session, *, tenant_id: uuid.UUID, key: str, body_hash: str, run_id: uuid.UUID) -> Claim:
    """Claim `key` for `run_id` in the caller's transaction (commit it once the run is sent, roll back if not)."""
    params = {"tenant": tenant_id, "key": key, "hash": body_hash, "run": run_id}
    name_tenant(session, tenant_id)
    if session.execute(_CLAIM, params).scalar() is not None:
        return Claim(run_id, new=True)
    row = session.execute(_EXISTING, params).one()
    return Claim(row.run_id, new=False, same_body=row.request_hash == body_hash)
