"""Runs hashed by the earlier scheme stay readable: an update from one re-executes, saying why."""

from __future__ import annotations

import hashlib
import json

from context.service import CampaignContextService
from pipeline.executor import StepExecutor
from pipeline.graph import StepGraph
from pipeline.hashing import LEGACY_SCHEME_REASON, is_current_scheme
from pipeline.store import LocalArtifactStore
from tests.pipeline.workflows import fresh_context, run_steps, update_context

PAYLOAD = {"brief": "Legacy hashes", "steps": {"bgm": {"seconds": 1.0}, "intro_video": {"frames": 2}}}


def test_an_update_from_a_run_hashed_the_old_way_re_executes_with_that_reason_then_reuses(
    service: CampaignContextService, graph: StepGraph, store: LocalArtifactStore
) -> None:
    executor = StepExecutor(service, store)
    base, _ = run_steps(executor, graph, fresh_context(service, PAYLOAD))
    assert base.computed is not None
    # What a run stored before RFC 8785: bare sha256 hex of sorted-key json.dumps.
    for step_id in graph.step_ids:
        legacy = json.dumps({"step": step_id}, sort_keys=True, separators=(",", ":"))
        base.computed.input_hashes_by_step[step_id] = hashlib.sha256(legacy.encode()).hexdigest()

    updated, outcomes = run_steps(executor, graph, update_context(base, {}))

    assert outcomes == {step: ("executed", LEGACY_SCHEME_REASON) for step in graph.step_ids}
    assert updated.computed is not None
    assert all(is_current_scheme(h) for h in updated.computed.input_hashes_by_step.values())
    _, again = run_steps(executor, graph, update_context(updated, {}))
    assert {outcome for outcome, _ in again.values()} == {"reused"}
