"""Rich renderings of runs for the terminal."""

from __future__ import annotations

from rich.table import Table

from context.runs import Run, RunStep
from pipeline.graph import StepGraph

_STYLE = {"executed": "green", "reused": "cyan", "failed": "red", "running": "yellow", "queued": "dim",
          "pending": "dim", "never ran": "dim"}  # fmt: skip
TERMINAL = ("completed", "failed", "cancelled")


def steps_table(run: Run, steps: list[RunStep], graph: StepGraph) -> Table:
    by_id = {s.step_id: s for s in steps}
    refs = (run.context or {}).get("refs", {})
    table = Table(title=f"run {run.id}: {run.status}", title_justify="left")
    table.add_column("step")
    table.add_column("outcome")
    table.add_column("why")
    table.add_column("where")
    table.add_column("took", justify="right")
    table.add_column("artifact")
    for step_id in graph.step_ids:
        row = by_id.get(step_id)
        never = run.status in TERMINAL and (row is None or row.outcome in ("queued", "running"))
        outcome = "never ran" if never else (row.outcome if row else "pending")
        reason = (row.reason or "") if row else ""
        if row and row.attempts > 1:
            reason = f"{reason} (attempt {row.attempts})".strip()
        artifact = refs.get(graph[step_id].output_ref, "")
        table.add_row(step_id, f"[{_STYLE.get(outcome, '')}]{outcome}[/]", reason, where(row), took(row), artifact)
    return table


def where(row: RunStep | None) -> str:
    """queue@host of the worker that ran the step."""
    if row is None or not (row.queue or row.hostname):
        return ""
    return f"{row.queue or '?'}@{row.hostname or '?'}"


def took(row: RunStep | None) -> str:
    if row is None or row.started_at is None or row.finished_at is None:
        return ""
    return f"{(row.finished_at - row.started_at).total_seconds():.2f}s"


def step_records(steps: list[RunStep], graph: StepGraph) -> list[dict[str, object]]:
    """The per-step records as JSON-ready dicts, in graph order (`campaign show --steps --json`)."""
    by_id = {s.step_id: s for s in steps}

    def iso(value: object) -> object:
        return value.isoformat() if hasattr(value, "isoformat") else value

    records: list[dict[str, object]] = []
    for step_id in graph.step_ids:
        row = by_id.get(step_id)
        if row is None:
            records.append({"stepId": step_id, "outcome": None})
            continue
        records.append({
            "stepId": step_id, "outcome": row.outcome, "reason": row.reason, "attempts": row.attempts,
            "queue": row.queue, "hostname": row.hostname, "taskId": row.task_id, "epoch": row.epoch,
            "startedAt": iso(row.started_at), "finishedAt": iso(row.finished_at),
        })  # fmt: skip
    return records
