"""`campaign show RUN --links`: a time-limited link per artifact, fetchable without the store's credentials."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from pipeline.store import ArtifactStore, LocalArtifactStore


def print_links(
    context: dict[str, Any] | None, store: ArtifactStore, expires_s: int, out: Console, err: Console
) -> None:
    """One `type<TAB>link` line per artifact of the run, the game bundle first."""
    artifacts = [a for a in ((context or {}).get("artifacts") or {}).values() if isinstance(a, dict) and a.get("uri")]
    artifacts.sort(key=lambda a: (a.get("type") != "game_bundle", str(a.get("type"))))
    for art in artifacts:
        out.print(f"{art.get('type')}\t{store.link(art['uri'], expires_s)}", highlight=False, soft_wrap=True)
    if isinstance(store, LocalArtifactStore):
        err.print(
            "local artifact store: these are file paths on this host; links need CAMPAIGN_ARTIFACT_URL=s3://...",
            soft_wrap=True,
        )
    else:
        err.print(f"{len(artifacts)} link(s), valid for {expires_s} s")
