"""`campaign keys create|list|revoke --tenant TENANT_ID`: the API keys of a tenant, stored as digests in PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

keys_cli = typer.Typer(no_args_is_help=True, help="API keys of a tenant (the HTTP API's `Authorization: Bearer KEY`).")

# No default tenant here, unlike the run commands: a key grants a tenant's runs, so the tenant is always named.
TenantArg = Annotated[uuid.UUID, typer.Option("--tenant", help="The tenant id the keys belong to.")]


@contextmanager
def _transaction() -> Iterator[Session]:
    from cli.main import errors_as_exit
    from context.db import make_engine, session_factory
    from context.settings import Settings, database_url

    cfg = Settings()  # read now, not cached: the database is the one configured for this invocation
    with errors_as_exit():
        engine = make_engine(database_url(cfg), cfg.timeouts)
        try:
            with session_factory(engine)() as session, session.begin():
                yield session
        finally:
            engine.dispose()


def _when(moment: datetime | None) -> str:
    return moment.isoformat(timespec="seconds") if moment else "-"


@keys_cli.command("create")
def create(tenant: TenantArg) -> None:
    """Make a key for TENANT: printed once, alone on the last line of stdout; only its digest is stored."""
    from cli.main import err
    from context.api_keys import create_key

    with _transaction() as session:
        row, key = create_key(session, tenant)
    err.print(f"key {row.id} ({row.prefix}…) for tenant {tenant}: shown once, store it now", highlight=False)
    typer.echo(key)


@keys_cli.command("list")
def list_(tenant: TenantArg) -> None:
    """The tenant's keys, oldest first: id, prefix, created, revoked (never the key or its digest)."""
    from context.api_keys import list_keys

    with _transaction() as session:
        rows = list_keys(session, tenant)
    for cells in [("id", "prefix", "created", "revoked")] + [
        (str(r.id), r.prefix, _when(r.created_at), _when(r.revoked_at)) for r in rows
    ]:
        typer.echo("\t".join(cells))  # plain: a rich console would expand the tabs


@keys_cli.command("revoke")
def revoke(
    key_id: Annotated[uuid.UUID, typer.Argument(help="The key's id (`campaign keys list`).")], tenant: TenantArg
) -> None:
    """Revoke a key: the API refuses it from its next request on."""
    from cli.main import EXIT_NOT_FOUND, err, fail
    from context.api_keys import revoke_key

    with _transaction() as session:
        row = revoke_key(session, tenant, key_id)
    if row is None:
        raise fail(f"tenant {tenant} has no key {key_id}", EXIT_NOT_FOUND)
    err.print(f"key {row.id} ({row.prefix}…) revoked at {_when(row.revoked_at)}", highlight=False)
