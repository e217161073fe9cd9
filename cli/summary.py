"""One line that says what a finished campaign is: title, buttons and the winner, tries, and how long things last."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from rich.console import Console

# Animations recorded before durations were stored: the offline generator's frame time.
_FRAME_MS = 80


def artifact(ctx: dict[str, Any] | None, ref: str) -> dict[str, Any] | None:
    """The stored context's artifact under `ref` (e.g. "gameConfigArtifactId"), or None."""
    if not ctx or ref not in ctx.get("refs", {}):
        return None
    found: dict[str, Any] | None = ctx.get("artifacts", {}).get(ctx["refs"][ref])
    return found


def summary_line(ctx: dict[str, Any] | None, read: Callable[[str, str], bytes]) -> str | None:
    """E.g. `Summer Spin & Win (wheel): buttons Red, Gold, Blue; wins: Red; 2 tries; music 4.0s at
    132 BPM (playful); videos intro 0.96s, win 0.96s, lose 0.96s`. None when the run has no game config yet.
    `read(uri, hash)` returns an artifact's verified bytes."""
    config_art = artifact(ctx, "gameConfigArtifactId")
    if config_art is None:
        return None
    config = json.loads(read(config_art["uri"], config_art["hash"]))
    buttons = config.get("buttons", [])
    labels = ", ".join(str(b["label"]) for b in buttons)
    winners = ", ".join(str(b["label"]) for b in buttons if b.get("outcome") == "win") or "none"
    tries = int((config.get("rules") or {}).get("tries", 1))
    parts = [
        f"{config.get('title', 'Campaign')} ({config.get('kind', 'chests')}): buttons {labels}",
        f"wins: {winners}",
        f"{tries} {'try' if tries == 1 else 'tries'}",
    ]
    bgm = (artifact(ctx, "bgmArtifactId") or {}).get("metadata") or {}
    if "seconds" in bgm:
        parts.append(f"music {float(bgm['seconds']):.1f}s at {bgm.get('tempoBpm', '?')} BPM ({bgm.get('mood', '?')})")
    videos = []
    for name, ref in (
        ("intro", "introVideoArtifactId"),
        ("win", "outcomeWinVideoArtifactId"),
        ("lose", "outcomeLoseVideoArtifactId"),
    ):
        meta = (artifact(ctx, ref) or {}).get("metadata") or {}
        ms = meta.get("durationMs") or (int(meta["frames"]) * _FRAME_MS if "frames" in meta else None)
        if ms:
            videos.append(f"{name} {ms / 1000:.2f}s")
    if videos:
        parts.append("videos " + ", ".join(videos))
    return "; ".join(parts)


def print_summary(ctx: dict[str, Any] | None, console: Console) -> None:
    """Print `game: <summary_line>` when the run has a game, reading artifacts from the configured store."""
    from tasks.worker import resources

    line = summary_line(ctx, resources().store.read)
    if line:
        console.print(f"game: {line}", markup=False, highlight=False, soft_wrap=True)
