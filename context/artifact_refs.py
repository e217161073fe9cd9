"""Which artifact URIs the runs of every tenant reference: what `campaign gc` must never delete."""

from __future__ import annotations

from sqlalchemy import Engine, select, text

from context.runs import Run, RunStep

_REFERENCED = text("SELECT uri FROM app.referenced_artifact_uris() AS uri")


def referenced_uris(engine: Engine) -> set[str]:
    """Every `uri` in any run's artifact map or recorded step result, across tenants.

    PostgreSQL: through a SECURITY DEFINER function, as row-level security hides other tenants' rows.
    """
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            return {row[0] for row in conn.execute(_REFERENCED)}
        # Embedded SQLite has no row-level security and, in practice, one local tenant; this is the one
        # runs query that spans tenants on purpose, because an object may be shared by all of them.
        uris: set[str] = set()
        documents = [*conn.execute(select(Run.context).where(Run.context.is_not(None))),
                     *conn.execute(select(RunStep.result).where(RunStep.result.is_not(None)))]  # fmt: skip
        for (context,) in documents:  # a live run's recorded step results count too
            artifacts = context.get("artifacts") if isinstance(context, dict) else None
            if isinstance(artifacts, dict):
                uris.update(
                    a["uri"] for a in artifacts.values() if isinstance(a, dict) and isinstance(a.get("uri"), str)
                )
        return uris
