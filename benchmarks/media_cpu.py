"""CPU of one real campaign's offline generators, in-process: no broker, no database, no worker.

`python -m benchmarks.media_cpu [--rounds N]` runs the 12 default steps of a fresh campaign in graph order
through the StepExecutor (store writes and quality checks included) `rounds` times and prints one JSON line: the
median process CPU per run, split into the generators' own CPU per step and what the executor adds around them.
It asserts nothing; compare two checkouts by running it from each, back to back, on the same load.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from context.models import TriggerInfo, TriggerType, utc_now_iso
from context.registry import ReferenceTypeRegistry
from context.service import CampaignContextService
from context.settings import REPO_CONFIG
from pipeline.executor import StepExecutor
from pipeline.graph import StepGraph
from pipeline.steps import GeneratedOutput, Generator, StepInputs, StepSpec, default_steps
from pipeline.store import LocalArtifactStore

BRIEF = "Spin the wheel of summer. Win a free coffee"
MEDIA_STEPS = ("intro_image", "intro_video", "bgm", "sfx", "game_bundle", "outcome_win_video", "outcome_lose_video")


def _timed(step_id: str, generator: Generator, spent: dict[str, float]) -> Generator:
    def generate(inputs: StepInputs) -> list[GeneratedOutput]:
        t0 = time.process_time()
        try:
            return generator(inputs)
        finally:
            spent[step_id] = spent.get(step_id, 0.0) + time.process_time() - t0

    return generate


def one_run(executor: StepExecutor, specs: list[StepSpec], service: CampaignContextService) -> float:
    """Process CPU seconds of one fresh run of every step."""
    trigger = TriggerInfo(type=TriggerType.API, timestamp=utc_now_iso(), payload={"brief": BRIEF})
    ctx = service.create(
        campaign_id=str(uuid.uuid4()), run_id=str(uuid.uuid4()), workflow_name="campaign", trigger=trigger
    )
    t0 = time.process_time()
    for spec in specs:
        ctx = executor.run(ctx, spec).context
    return time.process_time() - t0


def measure(rounds: int) -> dict[str, object]:
    spent: dict[str, float] = {}
    graph = StepGraph(default_steps())
    specs = [graph[s].with_generator(_timed(s, graph[s].generator, spent)) for s in graph.step_ids]
    service = CampaignContextService(ReferenceTypeRegistry.from_config(REPO_CONFIG))
    with tempfile.TemporaryDirectory(prefix="media-cpu-") as root:
        # A fresh store per round: a content-addressed store that already holds the bytes skips the write.
        def executor(i: int) -> StepExecutor:
            return StepExecutor(service, LocalArtifactStore(Path(root) / str(i)))

        one_run(executor(-1), specs, service)  # warm-up: imports, fonts, caches
        spent.clear()
        totals = [one_run(executor(i), specs, service) for i in range(rounds)]
    per_step = {s: round(1000 * v / rounds, 2) for s, v in sorted(spent.items(), key=lambda kv: -kv[1])}
    media = sum(v for s, v in per_step.items() if s in MEDIA_STEPS)
    return {
        "bench": "media_cpu",
        "rounds": rounds,
        "run_cpu_ms_median": round(1000 * statistics.median(totals), 1),
        "run_cpu_ms_min": round(1000 * min(totals), 1),
        "generators_cpu_ms_mean": round(sum(per_step.values()), 1),
        "media_generators_cpu_ms_mean": round(media, 1),
        "per_step_cpu_ms_mean": per_step,
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def main(argv: list[str] | None = None, out: Callable[[str], object] = print) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.media_cpu", description=__doc__)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args(argv)
    out(json.dumps(measure(args.rounds)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
