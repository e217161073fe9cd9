"""Helpers for pipeline tests: fresh and update contexts, and running steps in graph order."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from context.models import CampaignContext, TriggerInfo, TriggerType, utc_now_iso
from context.service import CampaignContextService
from pipeline.executor import StepExecutor
from pipeline.graph import StepGraph
from pipeline.params import deep_merge

BRIEF = "Spin the wheel of summer. Win a free coffee"


def trigger(payload: dict[str, Any]) -> TriggerInfo:
    return TriggerInfo(type=TriggerType.API, timestamp=utc_now_iso(), payload=payload)


def fresh_context(
    service: CampaignContextService, payload: dict[str, Any], run_id: str | None = None
) -> CampaignContext:
    """An empty context for a new run, as prepare_run builds it."""
    return service.create(
        campaign_id=str(uuid.uuid4()),
        run_id=run_id or str(uuid.uuid4()),
        workflow_name="campaign",
        trigger=trigger(payload),
    )


def update_context(base: CampaignContext, payload: dict[str, Any]) -> CampaignContext:
    """The starting context of an update run on `base`: new run id, payload merged over the base's."""
    merged = deep_merge(base.trigger.payload or {}, payload)
    return base.model_copy(deep=True, update={"run_id": str(uuid.uuid4()), "trigger": trigger(merged)})


def run_steps(
    executor: StepExecutor,
    graph: StepGraph,
    ctx: CampaignContext,
    *,
    only: Iterable[str] | None = None,
    forced: Iterable[str] = (),
) -> tuple[CampaignContext, dict[str, tuple[str, str]]]:
    """Run the graph's steps one after another in level order; step id -> (outcome, reason)."""
    wanted = set(only) if only is not None else set(graph.step_ids)
    forced = set(forced)
    outcomes: dict[str, tuple[str, str]] = {}
    for step_id in graph.step_ids:
        if step_id not in wanted:
            continue
        result = executor.run(ctx, graph[step_id], forced=step_id in forced)
        ctx = result.context
        outcomes[step_id] = (result.outcome, result.reason)
    return ctx, outcomes


def without_timestamps(value: Any) -> Any:
    """`value` (context JSON) with every createdAt and timestamp removed, for comparing two executions."""
    if isinstance(value, dict):
        return {k: without_timestamps(v) for k, v in value.items() if k not in ("createdAt", "timestamp")}
    if isinstance(value, list):
        return [without_timestamps(v) for v in value]
    return value
