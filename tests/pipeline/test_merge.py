"""Joining the branch contexts of one level, as the chord callback does."""

from __future__ import annotations

import uuid

import pytest

from context.errors import RefConflictError
from context.models import CampaignContext
from context.service import CampaignContextService
from pipeline.executor import StepExecutor
from pipeline.graph import StepGraph
from pipeline.merge import merge_branches
from pipeline.noop import noop
from pipeline.steps import GeneratedOutput, StepInputs, StepSpec, default_steps
from tests.pipeline.workflows import BRIEF, fresh_context, run_steps, update_context

LEVEL = ["intro_image", "bgm", "sfx", "outcome_win_video", "outcome_lose_video"]


@pytest.fixture(scope="module")
def noop_graph() -> StepGraph:
    return StepGraph([spec.with_generator(noop) for spec in default_steps()])


@pytest.fixture
def planned(service: CampaignContextService, executor: StepExecutor, noop_graph: StepGraph) -> CampaignContext:
    ctx, _ = run_steps(executor, noop_graph, fresh_context(service, {"brief": BRIEF}), only={"plan"})
    return ctx


def _branches(executor: StepExecutor, ctx: CampaignContext, specs: list[StepSpec]) -> list[CampaignContext]:
    return [executor.run(ctx, spec).context for spec in specs]


def test_merging_a_level_gives_the_union_of_its_branches(
    planned: CampaignContext, executor: StepExecutor, noop_graph: StepGraph
) -> None:
    specs = [noop_graph[s] for s in LEVEL]
    branches = _branches(executor, planned, specs)

    merged = merge_branches(branches, specs)

    assert merged.refs == {k: v for b in branches for k, v in b.refs.items()}
    assert len(merged.refs) == 6
    assert merged.artifacts == {k: v for b in branches for k, v in b.artifacts.items()}
    assert merged.computed is not None
    assert set(merged.computed.input_hashes_by_step) == {"plan", *LEVEL}
    for branch, spec in zip(branches, specs, strict=True):
        assert branch.computed is not None
        assert merged.computed.input_hashes_by_step[spec.id] == branch.computed.input_hashes_by_step[spec.id]
    all_checks = {q.model_dump_json() for b in branches if b.computed for q in b.computed.quality_checks}
    assert {q.model_dump_json() for q in merged.computed.quality_checks} == all_checks
    assert len(merged.computed.quality_checks) == len(all_checks)  # the plan's checks are not repeated


def test_merging_does_not_depend_on_branch_order(
    planned: CampaignContext, executor: StepExecutor, noop_graph: StepGraph
) -> None:
    specs = [noop_graph[s] for s in LEVEL]
    branches = _branches(executor, planned, specs)

    forward = merge_branches(branches, specs)
    backward = merge_branches(branches[::-1], specs[::-1])

    assert forward.refs == backward.refs
    assert forward.artifacts == backward.artifacts
    assert forward.computed is not None and backward.computed is not None
    assert forward.computed.input_hashes_by_step == backward.computed.input_hashes_by_step


def test_merging_an_update_level_drops_the_artifact_a_rerun_step_superseded(
    planned: CampaignContext, executor: StepExecutor, noop_graph: StepGraph
) -> None:
    specs = [noop_graph[s] for s in LEVEL]
    base = merge_branches(_branches(executor, planned, specs), specs)
    start = update_context(base, {"steps": {"sfx": {"salt": "new"}}})
    specs = [noop_graph[s] for s in ["bgm", "intro_image", "sfx", "outcome_win_video"]]

    branches = [executor.run(start, spec) for spec in specs]
    merged = merge_branches([b.context for b in branches], specs)

    assert [b.outcome for b in branches] == ["reused", "reused", "executed", "reused"]
    old_sfx, new_sfx = base.refs["sfxArtifactId"], merged.refs["sfxArtifactId"]
    assert new_sfx != old_sfx
    assert new_sfx in merged.artifacts
    assert old_sfx not in merged.artifacts
    assert merged.computed is not None
    assert old_sfx not in {q.artifact_id for q in merged.computed.quality_checks}
    assert new_sfx in {q.artifact_id for q in merged.computed.quality_checks}
    assert set(merged.artifacts) == set(merged.refs.values())


def test_branches_disagreeing_on_a_ref_no_step_of_the_level_produces_conflict(
    planned: CampaignContext, executor: StepExecutor, noop_graph: StepGraph
) -> None:
    specs = [noop_graph["bgm"], noop_graph["sfx"]]
    bgm_branch, sfx_branch = _branches(executor, planned, specs)
    # The sfx branch points planArtifactId elsewhere, though plan belongs to an earlier level.
    other_plan = str(uuid.uuid4())
    sfx_branch.artifacts[other_plan] = sfx_branch.artifacts[sfx_branch.refs["planArtifactId"]].model_copy()
    sfx_branch.refs["planArtifactId"] = other_plan

    with pytest.raises(RefConflictError, match="ref planArtifactId set to two artifacts") as excinfo:
        merge_branches([bgm_branch, sfx_branch], specs)

    assert excinfo.value.ref_name == "planArtifactId"
    assert other_plan in str(excinfo.value)
    assert bgm_branch.refs["planArtifactId"] in str(excinfo.value)


def test_a_step_s_extra_outputs_survive_the_merge(
    planned: CampaignContext, executor: StepExecutor, noop_graph: StepGraph
) -> None:
    def two_tracks(inputs: StepInputs) -> list[GeneratedOutput]:
        return noop(inputs) * 2

    specs = [noop_graph["sfx"], noop_graph["bgm"].with_generator(two_tracks)]
    branches = _branches(executor, planned, specs)
    assert set(branches[1].refs) == {"planArtifactId", "bgmArtifactId", "bgm1ArtifactId"}

    for order in (slice(None), slice(None, None, -1)):
        merged = merge_branches(branches[order], specs[order])

        assert merged.refs["bgm1ArtifactId"] == branches[1].refs["bgm1ArtifactId"]
        assert merged.refs["bgm1ArtifactId"] in merged.artifacts
        assert set(merged.artifacts) == set(merged.refs.values())


def test_an_update_rerunning_a_step_with_extra_outputs_merges_without_conflict(
    planned: CampaignContext, executor: StepExecutor, noop_graph: StepGraph
) -> None:
    def two_tracks(inputs: StepInputs) -> list[GeneratedOutput]:
        return noop(inputs) * 2

    specs = [noop_graph["sfx"], noop_graph["bgm"].with_generator(two_tracks)]
    base = merge_branches(_branches(executor, planned, specs), specs)
    start = update_context(base, {"steps": {"bgm": {"salt": "again"}}})

    results = [executor.run(start, spec) for spec in specs]
    merged = merge_branches([r.context for r in results], specs)

    assert [r.outcome for r in results] == ["reused", "executed"]
    for ref in ("bgmArtifactId", "bgm1ArtifactId"):
        assert merged.refs[ref] == results[1].context.refs[ref] != base.refs[ref]
        assert base.refs[ref] not in merged.artifacts
    assert merged.refs["sfxArtifactId"] == base.refs["sfxArtifactId"]


def test_a_branch_count_that_does_not_match_the_steps_is_refused(planned: CampaignContext) -> None:
    with pytest.raises(ValueError, match="1 branch contexts for 0 steps"):
        merge_branches([planned], [])
