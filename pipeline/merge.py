"""Join the contexts of steps that ran side by side into one, as a chord's callback does."""

from __future__ import annotations

from collections.abc import Sequence

from context.errors import RefConflictError
from context.models import CampaignContext, ComputedData
from context.service import drop_artifact
from pipeline.steps import StepSpec


def merge_branches(branches: Sequence[CampaignContext], specs: Sequence[StepSpec]) -> CampaignContext:
    """Union of the branch contexts (branch i ran specs[i]); each ref comes from the step that produces it."""
    if len(branches) != len(specs) or not branches:
        raise ValueError(f"{len(branches)} branch contexts for {len(specs)} steps")
    producers = {spec.output_ref: i for i, spec in enumerate(specs)}
    for i, (branch, spec) in enumerate(zip(branches, specs, strict=True)):
        # A step's extra outputs (`bgm1ArtifactId`) belong to it too: its artifact carries its step id.
        for ref, own_id in branch.refs.items():
            art = branch.artifacts.get(own_id)
            if art is not None and art.step_id == spec.id:
                producers.setdefault(ref, i)
    merged = branches[0].model_copy(deep=True)
    all_refs = {name for b in branches for name in b.refs}
    for ref in sorted(all_refs):
        values = {b.refs[ref] for b in branches if ref in b.refs}
        if ref in producers:
            winner = branches[producers[ref]]
        elif len(values) > 1:
            first, second = sorted(values)[:2]
            raise RefConflictError(ref, first, second)
        else:
            continue
        artifact_id = winner.refs.get(ref)
        previous = merged.refs.get(ref)
        if artifact_id is None or artifact_id == previous:
            continue
        merged.refs[ref] = artifact_id
        merged.artifacts[artifact_id] = winner.artifacts[artifact_id].model_copy(deep=True)
        if previous is not None and previous not in merged.refs.values():
            drop_artifact(merged, previous)
    computed = merged.computed or ComputedData()
    seen = {(q.artifact_id, q.check_type, q.timestamp) for q in computed.quality_checks}
    for branch, spec in zip(branches[1:], specs[1:], strict=True):
        if branch.computed is None:
            continue
        if spec.id in branch.computed.input_hashes_by_step:
            computed.input_hashes_by_step[spec.id] = branch.computed.input_hashes_by_step[spec.id]
        for check in branch.computed.quality_checks:
            key = (check.artifact_id, check.check_type, check.timestamp)
            if check.artifact_id in merged.artifacts and key not in seen:
                computed.quality_checks.append(check)
                seen.add(key)
    merged.computed = computed
    return merged
