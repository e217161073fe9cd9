"""A step's recorded result as a change to the context, and the composition of recorded results.

A step records only what it changed (refs it set, their artifacts, its input hash and quality checks), once
per run. The context any step sees is the run's starting context with the recorded changes of the steps
before it applied in graph order, so two deliveries of a step can never mix two different upstream results:
there is only one recorded result per step. Applying a change twice is the same as applying it once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from context.models import ArtifactData, CampaignContext, ComputedData, QualityCheckResult
from context.service import drop_artifact

REUSED: dict[str, Any] = {"refs": {}, "artifacts": {}, "qualityChecks": []}


def step_delta(before: CampaignContext, after: CampaignContext, step_id: str) -> dict[str, Any]:
    """What running `step_id` changed from `before` to `after`, as JSON."""
    refs = {ref: aid for ref, aid in after.refs.items() if before.refs.get(ref) != aid}
    new_ids = set(refs.values()) | (set(after.artifacts) - set(before.artifacts))
    artifacts = {
        aid: after.artifacts[aid].model_dump(mode="json", by_alias=True, exclude_none=True)
        for aid in sorted(new_ids)
        if aid in after.artifacts
    }
    computed = after.computed
    checks = [
        q.model_dump(mode="json", by_alias=True, exclude_none=True)
        for q in (computed.quality_checks if computed else [])
        if q.artifact_id in new_ids
    ]
    delta: dict[str, Any] = {"refs": refs, "artifacts": artifacts, "qualityChecks": checks}
    new_hash = computed.input_hashes_by_step.get(step_id) if computed else None
    if new_hash is not None:
        delta["inputHash"] = new_hash
    return delta


def apply_delta(ctx: CampaignContext, step_id: str, delta: Mapping[str, Any]) -> None:
    """Apply a recorded step result to `ctx`, in place; idempotent."""
    for ref, aid in delta.get("refs", {}).items():
        previous = ctx.refs.get(ref)
        ctx.refs[ref] = aid
        if previous is not None and previous != aid and previous not in ctx.refs.values():
            drop_artifact(ctx, previous)
    for aid, doc in delta.get("artifacts", {}).items():
        ctx.artifacts[aid] = ArtifactData.model_validate(doc)
    checks = [QualityCheckResult.model_validate(q) for q in delta.get("qualityChecks", [])]
    new_hash = delta.get("inputHash")
    if new_hash is None and not checks:
        return
    if ctx.computed is None:
        ctx.computed = ComputedData(input_hashes_by_step={}, quality_checks=[])
    if new_hash is not None:
        ctx.computed.input_hashes_by_step[step_id] = new_hash
    seen = {(q.artifact_id, q.check_type, q.timestamp) for q in ctx.computed.quality_checks}
    for q in checks:
        if (q.artifact_id, q.check_type, q.timestamp) not in seen:
            ctx.computed.quality_checks.append(q)


def compose(start: CampaignContext, order: Iterable[str], results: Mapping[str, Mapping[str, Any]]) -> CampaignContext:
    """`start` with the recorded results of the steps in `order` (graph order) applied; `start` is unchanged."""
    ctx = start.copy_to_grow()  # apply_delta only adds, replaces and removes entries
    for step_id in order:
        if step_id in results:
            apply_delta(ctx, step_id, results[step_id])
    return ctx
