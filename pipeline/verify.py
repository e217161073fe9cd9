"""Check a stored context against itself and the store: every step's input hash recomputes, every artifact reads."""

from __future__ import annotations

from context.models import CampaignContext
from context.resolver import ContextResolver
from pipeline.errors import PipelineError
from pipeline.executor import StepExecutor
from pipeline.graph import StepGraph


def verify_context(ctx: CampaignContext, graph: StepGraph, executor: StepExecutor) -> list[str]:
    """Each problem found, as one line; empty when the context is consistent."""
    problems = [
        f"ref {ref} points at missing artifact {aid}" for ref, aid in ContextResolver().dangling_refs(ctx).items()
    ]
    recorded = ctx.computed.input_hashes_by_step if ctx.computed else {}
    for step_id in graph.step_ids:
        spec = graph[step_id]
        if spec.output_ref not in ctx.refs:
            continue  # the step did not run in this context (a failed run): nothing to check
        if step_id not in recorded:
            problems.append(f"step {step_id}: its output is there but no input hash was recorded")
            continue
        try:
            again, _ = executor.input_hash(ctx, spec)
        except PipelineError as e:
            problems.append(f"step {step_id}: {e}")
            continue
        if again != recorded[step_id]:
            problems.append(
                f"step {step_id}: recorded input hash {recorded[step_id][:12]}… but its inputs in this context hash "
                f"to {again[:12]}…: it was built from other inputs than the ones stored"
            )
    for aid, art in sorted(ctx.artifacts.items()):
        if not executor.store.verify(art.uri, art.hash):
            problems.append(f"artifact {aid} ({art.type}): stored bytes at {art.uri} are missing or do not match")
    return problems
