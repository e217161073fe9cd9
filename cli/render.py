"""Rich renderings of runs for the terminal."""

from __future__ import annotations

from rich.table import Table

from context.runs import Run, RunStep
from pipeline.graph import StepGraph

_STYLE = {"executed": "green", "reused": "cyan", "failed": "red", "running": "yellow", "pending": "dim"}


def steps_table(run: Run, steps: list[RunStep], graph: StepGraph) -> Table:
    by_id = {s.step_id: s for s in steps}
    refs = (run.context or {}).get("refs", {})
    table = Table(title=f"run {run.id}: {run.status}", title_justify="left")
    table.add_column("step")
    table.add_column("outcome")
    table.add_column("why")
    table.add_column("artifact")
    for step_id in graph.step_ids:
        row = by_id.get(step_id)
        outcome = row.outcome if row else "pending"
        reason = (row.reason or "") if row else ""
        if row and row.attempts > 1:
            reason = f"{reason} (attempt {row.attempts})".strip()
        artifact = refs.get(graph[step_id].output_ref, "")
        table.add_row(step_id, f"[{_STYLE.get(outcome, '')}]{outcome}[/]", reason, artifact)
    return table
