"""The results: machine facts, a Markdown table, and benchmarks/results/latest.{json,md}."""

from __future__ import annotations

import json
import os
import platform
import sys
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from benchmarks.stats import Row

RESULTS = Path(__file__).resolve().parent / "results"


def machine_info() -> dict[str, Any]:
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpu_model": _cpu_model(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "packages": {p: version(p) for p in ("celery", "kombu", "redis", "psycopg", "pydantic", "sqlalchemy")},
        "command": " ".join([Path(sys.executable).name, "-m", "benchmarks", *sys.argv[1:]]),
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def fmt(x: float | None) -> str:
    if x is None:
        return ""
    if abs(x) >= 100:
        return f"{x:,.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}" if abs(x) >= 1 else f"{x:.3f}"


def table(rows: list[Row]) -> str:
    lines = [
        "| benchmark | case | unit | median | spread | n | baseline | ratio | target | met | load 1m | note |",
        "|---|---|---|---:|---|---:|---|---:|---|---|---:|---|",
    ]
    for r in rows:
        low, high = r.summary.spread
        target = "" if r.target is None else f"{r.target_on} ≤ {fmt(r.target)}"
        met = {None: "", True: "yes", False: "**no**"}[r.met]
        lines.append(
            f"| {r.bench} | {r.case} | {r.unit} | {fmt(r.summary.median)} | {fmt(low)}..{fmt(high)} "
            f"({r.summary.spread_kind}) | {r.summary.n} | {r.baseline or ''} | {fmt(r.ratio)} | {target} | {met} "
            f"| {r.load_1m:.2f} | {r.note} |"
        )
    return "\n".join(lines)


def markdown(rows: list[Row], info: dict[str, Any], wall_s: float, failures: dict[str, str]) -> str:
    head = [
        "# Benchmark results",
        "",
        f"- date: {info['date']}",
        f"- machine: {info['cpu_model']}, {info['cores']} cores, {info['platform']}",
        f"- Python {info['python']}; " + ", ".join(f"{k} {v}" for k, v in info["packages"].items()),
        f"- load average at start / end: {info['load_average_at_start']} / {info.get('load_average_at_end')}",
        f"- command: `{info['command']}`; wall time {wall_s:.0f} s",
        "",
        "Medians over repeated rounds; ratio = median ÷ the baseline's median, both measured in this run.",
        "",
    ]
    tail = ["", *(f"- **{name} failed**: {error}" for name, error in failures.items())] if failures else []
    return "\n".join([*head, table(rows), *tail]) + "\n"


def write(rows: list[Row], info: dict[str, Any], wall_s: float, failures: dict[str, str], *, stem: str) -> Path:
    """Write <stem>.json and <stem>.md: `latest` for a full run, `partial` for a subset or --quick."""
    RESULTS.mkdir(exist_ok=True)
    document = {
        "machine": info,
        "wall_s": round(wall_s, 1),
        "failures": failures,
        "rows": [r.to_json() for r in rows],
    }
    (RESULTS / f"{stem}.json").write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    path = RESULTS / f"{stem}.md"
    path.write_text(markdown(rows, info, wall_s, failures))
    return path
