"""A benchmark's numbers: medians with their spread, and rows that compare a case with its baseline."""

from __future__ import annotations

import os
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Summary:
    """Median and spread of repeated rounds; the spread shown is min-max for few rounds, p10-p90 for many."""

    median: float
    p10: float
    p90: float
    min: float
    max: float
    n: int

    @property
    def spread_kind(self) -> str:
        return "p10-p90" if self.n >= 20 else "min-max"

    @property
    def spread(self) -> tuple[float, float]:
        return (self.p10, self.p90) if self.n >= 20 else (self.min, self.max)


def summarize(samples: Sequence[float]) -> Summary:
    if not samples:
        raise ValueError("no samples to summarize")
    ordered = sorted(samples)
    return Summary(
        median=statistics.median(ordered),
        p10=_quantile(ordered, 0.10),
        p90=_quantile(ordered, 0.90),
        min=ordered[0],
        max=ordered[-1],
        n=len(ordered),
    )


def _quantile(ordered: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks, defined for one sample too."""
    pos = q * (len(ordered) - 1)
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


@dataclass
class Row:
    """One line of the results table: a measured case, optionally compared with a baseline of the same run."""

    bench: str
    case: str
    unit: str
    summary: Summary
    baseline: str | None = None  # the case this one is divided by
    ratio: float | None = None
    target: float | None = None  # the ratio (or value, see `target_on`) should stay at or below this
    target_on: str = "ratio"  # "ratio" or "value"
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    # The 1-minute load average when the row was made (right after its measurement): a shared machine's noise.
    load_1m: float = field(default_factory=lambda: round(os.getloadavg()[0], 2))

    @property
    def met(self) -> bool | None:
        if self.target is None:
            return None
        value = self.ratio if self.target_on == "ratio" else self.summary.median
        return None if value is None else value <= self.target

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["met"] = self.met
        data["spread_kind"] = self.summary.spread_kind
        return data


def compare(row: Row, baseline: Row, *, target: float | None = None) -> Row:
    """Set `row`'s ratio to its median over `baseline`'s median (both measured in this run)."""
    row.baseline = baseline.case
    row.ratio = row.summary.median / baseline.summary.median if baseline.summary.median else None
    row.target = target
    return row
