"""Which artifact URIs the runs of every tenant reference: what `campaign gc` must never delete."""

from __future__ import annotations

from sqlalchemy import Engine, text

_REFERENCED = text("SELECT uri FROM app.referenced_artifact_uris() AS uri")


def referenced_uris(engine: Engine) -> set[str]:
    """Every `uri` in any run's artifact map or recorded step result, across tenants.

    Through a function owned by campaign_inspector (migration 0012), as row-level security hides other tenants' rows
    from every other role, the one that migrated the database included when it is a managed database's admin.
    """
    with engine.connect() as conn:
        return {row[0] for row in conn.execute(_REFERENCED)}
