"""Context codec: what a task spends turning the context JSON into a CampaignContext and back, versus plain json."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from benchmarks.documents import context_document
from benchmarks.stats import Row, compare, summarize
from context.models import CampaignContext

NAME = "context_codec"
SIZES = (12, 50)
ROUND_NS = 20_000_000  # each round times about 20 ms of calls


def run(*, quick: bool, deadline: float | None = None) -> list[Row]:
    rounds = 9 if quick else 25
    rows: list[Row] = []
    for size in SIZES:
        doc = context_document(size)
        text = json.dumps(doc)
        ctx = CampaignContext.model_validate(doc)
        assert ctx.to_json_dict() == doc, "the benchmark document must round-trip exactly"
        samples = _time_interleaved(_cases(doc, text, ctx), rounds)
        made = {
            case: Row(NAME, f"{size} artifacts: {case}", "µs/op", summarize(values)) for case, values in samples.items()
        }
        made["json.loads + json.dumps"].note = f"{len(text)} B of JSON"
        for case, base in (
            ("per hop: model_validate + to_json_dict()", "json.loads + json.dumps"),
            ("model_validate_json + model_dump_json", "json.loads + json.dumps"),
            ("model_validate(dict)", "json.loads"),
            ("to_json_dict()", "json.dumps"),
            ("model_dump_json()", "json.dumps"),
        ):
            compare(made[case], made[base])
        rows.extend(made.values())
    return rows


def _cases(doc: dict[str, Any], text: str, ctx: CampaignContext) -> dict[str, Callable[[], Any]]:
    """What is timed: the wire codec (baseline) and the contract model, on the same document."""
    return {
        "json.loads + json.dumps": lambda: json.dumps(json.loads(text)),
        "per hop: model_validate + to_json_dict()": lambda: CampaignContext.model_validate(doc).to_json_dict(),
        "model_validate_json + model_dump_json": lambda: CampaignContext.model_validate_json(text).model_dump_json(
            by_alias=True, exclude_none=True
        ),
        "json.loads": lambda: json.loads(text),
        "model_validate(dict)": lambda: CampaignContext.model_validate(doc),
        "json.dumps": lambda: json.dumps(doc),
        "to_json_dict()": lambda: ctx.to_json_dict(),
        "model_dump_json()": lambda: ctx.model_dump_json(by_alias=True, exclude_none=True),
    }


def _time_interleaved(cases: dict[str, Callable[[], Any]], rounds: int) -> dict[str, list[float]]:
    """Microseconds per call, one sample per round per case; the cases take turns within each round."""
    iterations = {name: _calibrate(fn) for name, fn in cases.items()}
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(rounds):
        for name, fn in cases.items():
            n = iterations[name]
            t0 = time.perf_counter_ns()
            for _ in range(n):
                fn()
            samples[name].append((time.perf_counter_ns() - t0) / n / 1000)
    return samples


def _calibrate(fn: Callable[[], Any]) -> int:
    for _ in range(3):
        fn()  # warm caches, lazily built validators
    t0 = time.perf_counter_ns()
    fn()
    once = max(time.perf_counter_ns() - t0, 1)
    return max(10, ROUND_NS // once)
