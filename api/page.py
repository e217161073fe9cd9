"""The run page's HTML: server-rendered, one inline stylesheet and script, nothing fetched from elsewhere."""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape

from api.schemas import RunOut

STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1d232b;background:#f6f7f9}
header{background:#1d232b;color:#fff;padding:.6rem 1.2rem;display:flex;gap:1rem;align-items:center}
header a{color:#fff;text-decoration:none;font-weight:600}main{padding:1rem 1.2rem;max-width:90rem}
table{border-collapse:collapse;width:100%;background:#fff}th,td{padding:.35rem .6rem;border-bottom:1px solid #e3e6ea;
text-align:left;vertical-align:top}th{font-weight:600;background:#eef0f3}.mono{font-family:ui-monospace,monospace}
.status{display:inline-block;padding:.05rem .5rem;border-radius:.6rem;font-size:12px;font-weight:600;background:#e3e6ea}
.s-completed,.s-executed{background:#d7f5df;color:#14532d}.s-reused{background:#dde9ff;color:#1e3a8a}
.s-failed,.s-cancelled{background:#fde0e0;color:#7f1d1d}.s-running,.s-pending{background:#fff3c4;color:#713f12}
.s-queued{background:#eceff3;color:#374151}.reason{background:#fde0e0;padding:.6rem;border-radius:.3rem}
nav.filters a{margin-right:.8rem}.previews{display:flex;gap:1rem;flex-wrap:wrap;margin-top:1rem}
.previews figure{margin:0;background:#fff;padding:.5rem;border:1px solid #e3e6ea}.previews img{max-width:16rem}
.s-recorded{background:#d7f5df;color:#14532d}.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.bar{position:relative;height:.8rem;min-width:12rem;background:#f1f3f6}.bar span{position:absolute;top:0;bottom:0}
.bar .wait{background:#c9ced6}.bar .run{background:#4f8df5}.bar .run.live{background:#f2b705}
.previews figure.game{flex-basis:100%}.previews iframe{width:100%;height:34rem;border:0;background:#fff}
.nowrap{white-space:nowrap}figcaption{font-size:12px;color:#4b5563;margin-bottom:.3rem}.previews video{max-width:16rem}
"""


def badge(status: str | None) -> str:
    return f'<span class="status s-{escape(status)}">{escape(status)}</span>' if status else ""


def shell(title: str, body: str, *, data_run: str = "", script: str = "") -> str:
    run_attr = f' data-run="{escape(data_run)}"' if data_run else ""
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f'<meta name="viewport" content="width=device-width,initial-scale=1"><style>{STYLE}</style></head>'
        f'<body{run_attr}><header><a href="/">Campaign runs</a><form method="post" action="/logout" '
        f'style="margin-left:auto"><button>Sign out</button></form></header><main>{body}</main>'
        + (f"<script>{script}</script>" if script else "")
        + "</body></html>"
    )


def _age(when: datetime | None, now: datetime) -> str:
    if when is None:
        return ""
    seconds = int((now - when).total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit} ago"
    return f"{seconds} s ago"


def _brief(run: RunOut) -> str:
    trigger = (run.context or {}).get("trigger") or {}
    brief = (trigger.get("payload") or {}).get("brief") if isinstance(trigger, dict) else None
    return str(brief)[:120] if brief else ""


def runs_page(runs: list[RunOut], *, status: str | None, next_cursor: str | None) -> str:
    now = datetime.now(UTC)
    filters = " ".join(
        f'<a href="/?status={s}">{s}</a>' for s in ("queued", "running", "completed", "failed", "cancelled")
    )
    rows = "".join(
        f'<tr><td class="mono"><a href="/runs/{r.id}">{r.id}</a></td><td>{badge(r.status)}</td>'
        f"<td>{escape(_brief(r))}</td><td>{_age(r.created_at, now)}</td>"
        f"<td>{f'{r.duration_s:.1f} s' if r.duration_s is not None else ''}</td></tr>"
        for r in runs
    )
    more = (
        f'<p><a href="/?cursor={escape(next_cursor or "")}{f"&status={status}" if status else ""}">Older runs</a></p>'
    )
    title = f"Runs ({escape(status)})" if status else "Runs"
    body = (
        f'<h1>{title}</h1><nav class="filters"><a href="/">all</a> {filters}</nav>'
        f"<table><thead><tr><th>run</th><th>status</th><th>brief</th><th>age</th><th>duration</th></tr></thead>"
        f'<tbody id="runs">{rows}</tbody></table>' + (more if next_cursor else "")
    )
    return shell("Campaign runs", body)


def login_page(error: str = "") -> str:
    message = f'<p class="reason">{escape(error)}</p>' if error else ""
    body = (
        f"<h1>Sign in</h1>{message}<form method='post' action='/login'><label>API key "
        "<input name='key' type='password' autocomplete='current-password' required></label> "
        "<button>Sign in</button></form>"
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign in</title>'
        f"<style>{STYLE}</style></head><body><main>{body}</main></body></html>"
    )
