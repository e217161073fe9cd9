"""`campaign keys create|list|revoke --tenant`: keys stored as digests under row-level security, looked up by one
cross-tenant function that answers only a live key's tenant."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.orm import Session, sessionmaker

from context.api_keys import key_digest, tenant_of_key
from tests.api.keys_cli import create_key, key_id_of, keys


def _rows(admin: sessionmaker[Session], tenant: uuid.UUID) -> list[dict[str, object]]:
    with admin() as s:
        rows = s.execute(text("SELECT * FROM app.api_keys WHERE tenant_id = :t"), {"t": tenant}).mappings().all()
    return [dict(r) for r in rows]


def _lookup(sessions: sessionmaker[Session], key: str) -> uuid.UUID | None:
    with sessions() as s:  # names no tenant: the key is what names it
        return tenant_of_key(s, key)


def test_create_prints_the_key_alone_on_the_last_line_and_stores_only_its_digest(
    app_pg_url: str, pg_admin_sessions: sessionmaker[Session], owner_sessions: sessionmaker[Session]
) -> None:
    tenant = uuid.uuid4()
    key = create_key(app_pg_url, tenant)

    [row] = _rows(pg_admin_sessions, tenant)
    assert len(key) >= 40 and " " not in key
    assert row["digest"] == key_digest(key)
    assert key.startswith(str(row["prefix"])) and len(str(row["prefix"])) < len(key) // 3
    assert not any(key in str(value) for value in row.values())
    # The RLS-bound owner role, naming no tenant, finds the key's tenant through the function only.
    with owner_sessions() as s:
        assert s.execute(text("SELECT count(*) FROM app.api_keys")).scalar() == 0
    assert _lookup(owner_sessions, key) == tenant
    assert _lookup(owner_sessions, key + "x") is None


def test_list_shows_id_prefix_created_and_revoked_of_the_tenants_keys_only_never_a_key_or_digest(
    app_pg_url: str,
) -> None:
    tenant, other = uuid.uuid4(), uuid.uuid4()
    first, second = create_key(app_pg_url, tenant), create_key(app_pg_url, tenant)
    theirs = create_key(app_pg_url, other)
    first_id = key_id_of(app_pg_url, tenant, first)
    assert keys(app_pg_url, "revoke", str(first_id), "--tenant", str(tenant))[0] == 0

    code, stdout, _ = keys(app_pg_url, "list", "--tenant", str(tenant))

    assert code == 0
    header, *lines = [line.split("\t") for line in stdout.splitlines()]
    assert header == ["id", "prefix", "created", "revoked"]
    assert [row[1] for row in lines] == [first[: len(lines[0][1])], second[: len(lines[1][1])]]
    assert lines[0][0] == str(first_id) and lines[0][3] != "-" and lines[1][3] == "-"
    for secret in (first, second, key_digest(first), key_digest(second), key_digest(first).removeprefix("sha256:")):
        assert secret not in stdout
    assert str(key_id_of(app_pg_url, other, theirs)) not in stdout


def test_revoke_stops_the_lookup_at_once_and_another_tenant_cannot_revoke_it(
    app_pg_url: str, owner_sessions: sessionmaker[Session], pg_admin_sessions: sessionmaker[Session]
) -> None:
    tenant, other = uuid.uuid4(), uuid.uuid4()
    key = create_key(app_pg_url, tenant)
    key_id = key_id_of(app_pg_url, tenant, key)

    code, _, stderr = keys(app_pg_url, "revoke", str(key_id), "--tenant", str(other))
    assert (code, _lookup(owner_sessions, key)) == (3, tenant)  # not found, as a missing key; still live
    assert str(key_id) in stderr

    assert keys(app_pg_url, "revoke", str(key_id), "--tenant", str(tenant))[0] == 0
    assert _lookup(owner_sessions, key) is None
    [row] = _rows(pg_admin_sessions, tenant)
    assert keys(app_pg_url, "revoke", str(key_id), "--tenant", str(tenant))[0] == 0  # again: the first time stays
    assert _rows(pg_admin_sessions, tenant)[0]["revoked_at"] == row["revoked_at"]


def test_a_key_row_is_written_only_under_its_tenant(app_pg_url: str, owner_sessions: sessionmaker[Session]) -> None:
    tenant, other = uuid.uuid4(), uuid.uuid4()
    insert = text("INSERT INTO app.api_keys (id, tenant_id, prefix, digest) VALUES (gen_random_uuid(), :t, 'ck_x', :d)")
    with owner_sessions() as s, pytest.raises(ProgrammingError, match="row-level security"):
        s.execute(text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(other)})
        s.execute(insert, {"t": tenant, "d": key_digest(uuid.uuid4().hex)})
