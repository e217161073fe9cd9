"""`campaign gc --older-than DAYS [--yes]`: delete stored objects no run of any tenant references any more."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer


def gc(
    older_than: Annotated[
        float, typer.Option("--older-than", min=0, help="Only objects last written more than DAYS days ago.")
    ],
    yes: Annotated[bool, typer.Option("--yes", help="Delete them; without it, only list them (dry run).")] = False,
) -> None:
    """List (or with --yes delete) artifact objects that no run references and that are older than DAYS."""
    from botocore.exceptions import BotoCoreError, ClientError

    from cli.main import EXIT_UNAVAILABLE, err, errors_as_exit, fail, out
    from context.artifact_refs import referenced_uris
    from context.db import make_engine
    from context.settings import Settings, database_url
    from pipeline.gc import collect, plan_gc
    from pipeline.store_factory import open_store

    cfg = Settings()
    with errors_as_exit():
        try:
            store = open_store(cfg.artifact_url, cfg.artifact_root)
            engine = make_engine(database_url(cfg), cfg.timeouts)
            plan = plan_gc(store, referenced_uris(engine), timedelta(days=older_than))
            for obj in plan.garbage:
                out.print(f"{obj.uri}\t{obj.modified.isoformat()}\t{obj.size}", highlight=False, soft_wrap=True)
            summary = (
                f"{len(plan.garbage)} unreferenced object(s) older than {older_than:g} day(s), "
                f"{plan.garbage_bytes} bytes; kept {plan.kept_referenced} referenced, {plan.kept_young} younger"
            )
            if not yes:
                err.print(f"{summary}; dry run: pass --yes to delete them", highlight=False, soft_wrap=True)
                return
            # Asked again right before deleting: an object stored and referenced since the plan is kept.
            deleted = collect(store, plan, referenced_uris(engine))
            err.print(f"{summary}; deleted {deleted}", highlight=False, soft_wrap=True)
        except (BotoCoreError, ClientError) as e:
            raise fail(f"artifact store unreachable ({cfg.artifact_url}): {e}", EXIT_UNAVAILABLE) from e
