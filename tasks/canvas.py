"""Turn the step graph's levels into a Celery canvas: single steps and chords (group + merge), then persist."""

from __future__ import annotations

from collections.abc import Sequence

from celery import chain, chord, group
from celery.canvas import Signature

from tasks.app import app


def build_canvas(*, run_id: str, tenant_id: str, levels: Sequence[Sequence[str]], forced: frozenset[str]) -> Signature:
    ids = {"run_id": run_id, "tenant_id": tenant_id}
    links: list[Signature] = []
    for level in levels:
        if len(level) == 1:
            step = level[0]
            links.append(
                app.signature(f"campaign.{step}", kwargs={**ids, "forced": step in forced, "checkpoint_after": True})
            )
        else:
            header = group(app.signature(f"campaign.{s}", kwargs={**ids, "forced": s in forced}) for s in level)
            links.append(chord(header, app.signature("campaign.merge", kwargs={**ids, "steps": list(level)})))
    links.append(app.signature("campaign.persist", kwargs=ids))
    return chain(*links)
