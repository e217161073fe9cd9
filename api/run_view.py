"""One run's page: its summary, its steps as a timeline, previews of its artifacts and its game, kept live by the
run's events (each event re-reads the parts below from the server, so Python alone renders them)."""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from datetime import datetime
from html import escape
from typing import Any

from api.page import badge, shell
from api.routes.artifacts import artifact_of_type
from api.schemas import RunOut, StepOut

# Artifact type -> caption, in the order the page shows them; the media type says which element plays it.
PREVIEWS: tuple[tuple[str, str], ...] = (
    ("intro_image", "Intro image"),
    ("intro_video", "Intro video"),
    ("outcome_win_video", "Win video"),
    ("outcome_lose_video", "Lose video"),
    ("bgm", "Background music"),
    ("sfx", "Sound effects"),
)
GAME = "game_bundle"
# A step's place in its life: sent to a queue, running on a worker, its result recorded (or its failure).
STATES = {"queued": "queued", "running": "running", "executed": "recorded", "reused": "recorded", "failed": "failed"}

RUN_SCRIPT = """
const runId = document.body.dataset.run;
const terminal = new Set(["completed", "failed", "cancelled"]);
const log = document.getElementById("events");
let inFlight = null, again = false;
async function refresh() {
  const answer = await fetch(`/runs/${runId}/parts`, {headers: {Accept: "application/json"}});
  if (!answer.ok) return null;
  const parts = await answer.json();
  document.getElementById("summary").innerHTML = parts.summary;
  document.getElementById("steps").innerHTML = parts.steps;
  const previews = document.getElementById("previews");
  // Replaced only when another artifact is there: replacing reloads every preview and restarts the game.
  if (previews.dataset.types !== parts.previewTypes) {
    previews.innerHTML = parts.previews;
    previews.dataset.types = parts.previewTypes;
  }
  return parts.status;
}
// One refresh at a time, the last one after the last event: answers never arrive out of order.
function schedule(done) {
  if (inFlight) { again = true; return; }
  inFlight = refresh().then(done).finally(() => { inFlight = null; if (again) { again = false; schedule(done); } });
}
// A step's start logs no event (one more row and NOTIFY per step would cost every run): while the run is not over,
// its parts are re-read every 2 s as well, so a step shows as running at most 2 s after it starts.
const tick = setInterval(() => schedule((status) => { if (terminal.has(status)) clearInterval(tick); }), 2000);
const source = new EventSource(`/v1/runs/${runId}/events`);
source.onmessage = (message) => {
  const event = JSON.parse(message.data);
  const li = document.createElement("li");
  li.textContent = `${event.at} ${event.kind}${event.step ? " " + event.step : ""}` +
                   `${event.kind === "step_finished" ? " (" + event.status + ")" : ""}`;
  log.appendChild(li);
  schedule((status) => { if (terminal.has(status) && terminal.has(event.kind)) source.close(); });
};
"""


@dataclass(frozen=True)
class RunParts:
    """What changes while a run runs, each part rendered as HTML: what the page's script swaps in on an event."""

    status: str
    summary: str
    steps: str
    previews: str
    preview_types: str

    def as_json(self) -> dict[str, str]:
        return {
            "status": self.status,
            "summary": self.summary,
            "steps": self.steps,
            "previews": self.previews,
            "previewTypes": self.preview_types,
        }


def seconds_between(start: datetime | None, end: datetime | None) -> float | None:
    return (end - start).total_seconds() if start and end else None


def _secs(value: float | None) -> str:
    return f"{value:.2f} s" if value is not None else ""


def _clock(when: datetime | None) -> str:
    return when.strftime("%H:%M:%S.%f")[:-3] if when else ""


def _summary(run: RunOut) -> str:
    reason = f"{run.failed_step or ''}: {run.reason}" if run.reason else ""
    duration = f" · ran {run.duration_s:.1f} s" if run.duration_s is not None else ""
    created = f" · created {run.created_at.isoformat(timespec='seconds')}" if run.created_at else ""
    return (
        f'<p>Status: <span id="run-status" class="status s-{escape(run.status)}">{escape(run.status)}</span>'
        f"{created}{duration}</p>"
        f'<p id="reason" class="reason"{"" if reason else " hidden"}>{escape(reason)}</p>'
    )


def _bar(step: StepOut, start: datetime, span_s: float, now: datetime) -> str:
    """The step's wait (sent to started) and run (started to finished, or to now while it runs) on the run's axis."""

    def segment(cls: str, a: datetime | None, b: datetime | None) -> str:
        length = seconds_between(a, b)
        if a is None or length is None:
            return ""
        left = 100 * (a - start).total_seconds() / span_s
        return f'<span class="{cls}" style="left:{left:.2f}%;width:{max(100 * length / span_s, 0.4):.2f}%"></span>'

    running = step.outcome == "running"
    waiting_until = step.started_at or (now if step.outcome == "queued" else None)
    return (
        '<div class="bar">'
        + segment("wait", step.sent_at, waiting_until)
        + segment("run live" if running else "run", step.started_at, step.finished_at or (now if running else None))
        + "</div>"
    )


def _steps(steps: list[StepOut], now: datetime) -> str:
    times = [t for s in steps for t in (s.sent_at, s.started_at, s.finished_at) if t]
    live = any(s.outcome in ("queued", "running") for s in steps)
    start = min(times) if times else now
    end = max([*times, now] if live else times) if times else now
    span_s = max((end - start).total_seconds(), 0.001)
    rows = []
    for s in steps:
        state = STATES.get(s.outcome or "", "")
        outcome = badge(s.outcome) if state == "recorded" else ""
        rows.append(
            f'<tr data-step="{escape(s.step_id)}" data-state="{state}"><td class="mono">{escape(s.step_id)}</td>'
            f"<td class='nowrap'>{badge(state)} {outcome}</td><td class='num sent'>{_clock(s.sent_at)}</td>"
            f"<td class='num wait'>{_secs(seconds_between(s.sent_at, s.started_at))}</td>"
            f"<td class='num runtime'>{_secs(seconds_between(s.started_at, s.finished_at))}</td>"
            f"<td class='mono nowrap worker'>{escape(s.hostname or '')}</td><td>{escape(s.queue or '')}</td>"
            f"<td class='num'>{s.attempts or ''}</td><td>{_bar(s, start, span_s, now)}</td>"
            f"<td>{escape(s.reason or '')}</td></tr>"
        )
    return "".join(rows)


def _media_type(art: dict[str, Any]) -> str:
    declared = (art.get("metadata") or {}).get("mediaType")
    return str(declared or mimetypes.guess_type(str(art.get("uri", "")))[0] or "")


def _preview(run_id: str, kind: str, caption: str, art: dict[str, Any]) -> str:
    src = f"/v1/runs/{run_id}/artifacts/{kind}"
    media = _media_type(art)
    if media.startswith("audio/"):
        element = f'<audio controls preload="metadata" src="{src}" data-type="{kind}"></audio>'
    elif media.startswith("video/"):
        element = f'<video controls muted loop playsinline preload="metadata" src="{src}" data-type="{kind}"></video>'
    else:  # images, and the GIF animations the offline generators make for videos
        element = f'<img alt="{caption}" src="{src}" data-type="{kind}">'
    return f"<figure><figcaption>{caption}</figcaption>{element}</figure>"


def _previews(run: RunOut) -> tuple[str, str]:
    run_id, shown, parts = str(run.id), [], []
    for kind, caption in PREVIEWS:
        art = artifact_of_type(run.context, kind)
        if art is not None:
            shown.append(kind)
            parts.append(_preview(run_id, kind, caption, art))
    if artifact_of_type(run.context, GAME) is not None:
        shown.append(GAME)
        # No allow-same-origin: the game's script runs in an opaque origin, away from the page, its cookie and the API.
        parts.append(
            f'<figure class="game"><figcaption>Game</figcaption><iframe id="game" sandbox="allow-scripts" '
            f'src="/v1/runs/{run_id}/game" title="The campaign\'s game" referrerpolicy="no-referrer"></iframe></figure>'
        )
    return "".join(parts), " ".join(shown)


def run_parts(run: RunOut, steps: list[StepOut], now: datetime) -> RunParts:
    previews, types = _previews(run)
    return RunParts(run.status, _summary(run), _steps(steps, now), previews, types)


def run_page(run: RunOut, steps: list[StepOut], now: datetime) -> str:
    parts = run_parts(run, steps, now)
    body = (
        f'<h1 class="mono">{run.id}</h1><div id="summary">{parts.summary}</div>'
        "<h2>Steps</h2><table><thead><tr><th>step</th><th>state</th><th>sent (UTC)</th><th>queue wait</th>"
        "<th>run time</th><th>worker</th><th>queue</th><th>tries</th><th>timeline</th><th>why</th></tr></thead>"
        f'<tbody id="steps">{parts.steps}</tbody></table>'
        f'<h2>Artifacts</h2><div id="previews" class="previews" data-types="{parts.preview_types}">{parts.previews}'
        '</div><h2>Events</h2><ol id="events"></ol>'
    )
    return shell(f"Run {run.id}", body, data_run=str(run.id), script=RUN_SCRIPT)
