"""The step executor over a whole workflow with the real default generators: first runs, updates, reuse."""

from __future__ import annotations

import dataclasses
import re
import uuid
from pathlib import Path

import pytest

from context.models import CampaignContext, QualityStatus
from context.resolver import ContextResolver
from context.service import CampaignContextService
from pipeline.errors import StepFailedError
from pipeline.executor import StepExecutor, artifact_id_for
from pipeline.graph import StepGraph
from pipeline.media.formats import sniff
from pipeline.quality import EXPECTED_FORMAT
from pipeline.store import LocalArtifactStore
from tests.pipeline.workflows import BRIEF, fresh_context, run_steps, update_context, without_timestamps

PAYLOAD = {"brief": BRIEF, "steps": {"bgm": {"mood": "calm", "seconds": 1.0}, "intro_video": {"frames": 4}}}
AUDIO_DOWNSTREAM = {"bgm", "audio_manifest", "game_config", "game_bundle", "campaign_manifest"}


@pytest.fixture(scope="module")
def shared_store(tmp_path_factory: pytest.TempPathFactory) -> LocalArtifactStore:
    return LocalArtifactStore(tmp_path_factory.mktemp("artifacts"))


@pytest.fixture(scope="module")
def shared_executor(service: CampaignContextService, shared_store: LocalArtifactStore) -> StepExecutor:
    return StepExecutor(service, shared_store)


@pytest.fixture(scope="module")
def first_run(
    service: CampaignContextService, shared_executor: StepExecutor, graph: StepGraph
) -> tuple[CampaignContext, dict[str, tuple[str, str]]]:
    """A new run of all 12 default steps; never modified by a test (the executor copies what it changes)."""
    return run_steps(shared_executor, graph, fresh_context(service, PAYLOAD))


def _executed(outcomes: dict[str, tuple[str, str]]) -> set[str]:
    return {step for step, (outcome, _) in outcomes.items() if outcome == "executed"}


def test_a_new_run_executes_every_step_and_sets_every_ref(
    first_run: tuple[CampaignContext, dict[str, tuple[str, str]]], graph: StepGraph
) -> None:
    ctx, outcomes = first_run

    assert outcomes == {step: ("executed", "no earlier result") for step in graph.step_ids}
    assert set(ctx.refs) == {spec.output_ref for spec in graph.specs.values()}
    assert len(ctx.artifacts) == 12
    resolver = ContextResolver()
    for spec in graph.specs.values():
        art = resolver.get_ref(ctx, spec.output_ref)
        assert art is not None
        assert (art.type, art.step_id) == (spec.output_type, spec.id)


def test_every_artifact_of_a_new_run_is_in_the_store_in_its_format(
    first_run: tuple[CampaignContext, dict[str, tuple[str, str]]], shared_store: LocalArtifactStore
) -> None:
    ctx, _ = first_run

    for art in ctx.artifacts.values():
        assert shared_store.verify(art.uri, art.hash), art.type
        assert sniff(shared_store.read(art.uri, art.hash)) == EXPECTED_FORMAT[art.type]


def test_a_new_run_records_an_input_hash_per_step_and_passing_checks_for_every_artifact(
    first_run: tuple[CampaignContext, dict[str, tuple[str, str]]], graph: StepGraph
) -> None:
    ctx, _ = first_run
    assert ctx.computed is not None

    assert set(ctx.computed.input_hashes_by_step) == set(graph.step_ids)
    assert all(re.fullmatch(r"jcs-sha256:[0-9a-f]{64}", h) for h in ctx.computed.input_hashes_by_step.values())
    assert len(set(ctx.computed.input_hashes_by_step.values())) == 12
    checked = {(q.artifact_id, q.check_type) for q in ctx.computed.quality_checks}
    for artifact_id in ctx.artifacts:
        assert {(artifact_id, "integrity"), (artifact_id, "size"), (artifact_id, "format")} <= checked
    assert [q for q in ctx.computed.quality_checks if q.status is QualityStatus.FAILED] == []


def test_a_new_run_survives_a_json_round_trip(first_run: tuple[CampaignContext, dict[str, tuple[str, str]]]) -> None:
    ctx, _ = first_run

    assert CampaignContext.model_validate(ctx.to_json_dict()) == ctx


def test_an_update_with_the_same_payload_reuses_every_step(
    first_run: tuple[CampaignContext, dict[str, tuple[str, str]]], shared_executor: StepExecutor, graph: StepGraph
) -> None:
    base, _ = first_run

    ctx, outcomes = run_steps(shared_executor, graph, update_context(base, PAYLOAD))

    assert outcomes == {step: ("reused", "inputs unchanged") for step in graph.step_ids}
    assert ctx.refs == base.refs
    assert ctx.artifacts == base.artifacts


def test_changing_one_step_s_params_reruns_that_step_and_what_depends_on_it(
    first_run: tuple[CampaignContext, dict[str, tuple[str, str]]], shared_executor: StepExecutor, graph: StepGraph
) -> None:
    base, _ = first_run
    start = update_context(base, {"steps": {"bgm": {"mood": "epic"}}})

    ctx, outcomes = run_steps(shared_executor, graph, start)

    assert _executed(outcomes) == AUDIO_DOWNSTREAM
    assert {step for step, (outcome, _) in outcomes.items() if outcome == "reused"} == set(
        graph.step_ids
    ) - AUDIO_DOWNSTREAM
    assert outcomes["bgm"][1] == "inputs changed (params, version or an input artifact)"
    for step in AUDIO_DOWNSTREAM:
        ref = graph[step].output_ref
        assert ctx.refs[ref] != base.refs[ref]
        assert ctx.artifacts[ctx.refs[ref]].hash != base.artifacts[base.refs[ref]].hash
    # Superseded artifacts leave the map, and so do their checks; the live ones all stay checked.
    assert len(ctx.artifacts) == 12
    assert ctx.computed is not None
    assert {q.artifact_id for q in ctx.computed.quality_checks} == set(ctx.artifacts)


def test_bumping_a_step_s_version_reruns_it(
    first_run: tuple[CampaignContext, dict[str, tuple[str, str]]],
    service: CampaignContextService,
    shared_store: LocalArtifactStore,
    graph: StepGraph,
) -> None:
    base, _ = first_run
    specs = [graph[s] for s in graph.step_ids]
    bumped = StepGraph([dataclasses.replace(s, version="2") if s.id == "sfx" else s for s in specs])
    bumped_again = StepGraph([s.with_generator(s.generator, version="3") if s.id == "sfx" else s for s in specs])

    for g in (bumped, bumped_again):
        _, outcomes = run_steps(StepExecutor(service, shared_store), g, update_context(base, {}), only={"sfx"})
        assert outcomes["sfx"] == ("executed", "inputs changed (params, version or an input artifact)")


def test_a_forced_step_executes_even_when_its_inputs_are_unchanged(
    first_run: tuple[CampaignContext, dict[str, tuple[str, str]]], shared_executor: StepExecutor, graph: StepGraph
) -> None:
    base, _ = first_run

    result = shared_executor.run(update_context(base, {}), graph["plan"], forced=True)

    assert (result.outcome, result.reason) == ("executed", "forced by --steps")


def test_a_forced_deterministic_step_leaves_its_dependents_reused(
    first_run: tuple[CampaignContext, dict[str, tuple[str, str]]], shared_executor: StepExecutor, graph: StepGraph
) -> None:
    base, _ = first_run
    start = update_context(base, {})

    ctx, outcomes = run_steps(shared_executor, graph, start, forced={"intro_image"})

    assert _executed(outcomes) == {"intro_image"}
    new_id, old_id = ctx.refs["introImageArtifactId"], base.refs["introImageArtifactId"]
    assert new_id == artifact_id_for(start.run_id, "intro_image", 0) != old_id
    assert ctx.artifacts[new_id].hash == base.artifacts[old_id].hash
    assert old_id not in ctx.artifacts


def test_a_reused_candidate_whose_artifact_failed_a_quality_check_is_executed(
    first_run: tuple[CampaignContext, dict[str, tuple[str, str]]], shared_executor: StepExecutor, graph: StepGraph
) -> None:
    base, _ = first_run
    start = update_context(base, {})
    assert start.computed is not None
    sfx_id = start.refs["sfxArtifactId"]
    for check in start.computed.quality_checks:
        if check.artifact_id == sfx_id and check.check_type == "format":
            check.status = QualityStatus.FAILED

    ctx, outcomes = run_steps(shared_executor, graph, start)

    assert outcomes["sfx"] == ("executed", "earlier artifact failed quality check format")
    assert _executed(outcomes) == {"sfx"}  # same bytes again: audio_manifest and the rest are reused
    assert ctx.computed is not None
    assert [q for q in ctx.computed.quality_checks if q.status is QualityStatus.FAILED] == []


def test_a_reused_candidate_whose_stored_object_is_gone_is_executed(
    service: CampaignContextService, graph: StepGraph, tmp_path: Path
) -> None:
    store = LocalArtifactStore(tmp_path)
    executor = StepExecutor(service, store)
    base, _ = run_steps(executor, graph, fresh_context(service, PAYLOAD), only={"plan"})
    plan = base.artifacts[base.refs["planArtifactId"]]
    store.path_of(plan.uri).unlink()

    result = executor.run(update_context(base, {}), graph["plan"])

    assert result.outcome == "executed"
    assert "corrupt" in result.reason
    assert store.verify(plan.uri, plan.hash)


def test_artifact_ids_depend_only_on_run_step_and_output_index(
    service: CampaignContextService, graph: StepGraph, executor: StepExecutor
) -> None:
    run_id = str(uuid.uuid4())
    only = {"plan", "sfx", "audio_manifest", "bgm"}

    one, _ = run_steps(executor, graph, fresh_context(service, PAYLOAD, run_id), only=only)
    two, _ = run_steps(executor, graph, fresh_context(service, PAYLOAD, run_id), only=only)
    other, _ = run_steps(executor, graph, fresh_context(service, PAYLOAD), only=only)

    assert one.refs == two.refs
    assert one.refs["sfxArtifactId"] == artifact_id_for(run_id, "sfx", 0)
    assert set(one.refs.values()).isdisjoint(other.refs.values())


def test_a_redelivered_step_builds_the_same_context_apart_from_timestamps(
    service: CampaignContextService, graph: StepGraph, executor: StepExecutor
) -> None:
    ctx, _ = run_steps(executor, graph, fresh_context(service, PAYLOAD), only={"plan"})

    first = executor.run(ctx, graph["intro_image"]).context.to_json_dict()
    second = executor.run(ctx, graph["intro_image"]).context.to_json_dict()

    assert without_timestamps(first) == without_timestamps(second)
    assert first["refs"] != ctx.to_json_dict()["refs"]  # the step did add something


def test_executing_a_step_again_in_the_same_run_replaces_its_output_without_duplicating_checks(
    service: CampaignContextService, graph: StepGraph, executor: StepExecutor
) -> None:
    once, _ = run_steps(executor, graph, fresh_context(service, PAYLOAD), only={"plan"})

    twice = executor.run(once, graph["plan"], forced=True).context

    assert twice.refs == once.refs
    assert twice.artifacts.keys() == once.artifacts.keys()
    assert once.computed is not None and twice.computed is not None
    assert len(twice.computed.quality_checks) == len(once.computed.quality_checks)


def test_a_step_whose_input_ref_is_missing_fails_naming_the_ref(
    service: CampaignContextService, graph: StepGraph, executor: StepExecutor
) -> None:
    with pytest.raises(StepFailedError, match="step intro_image failed: input planArtifactId is missing"):
        executor.run(fresh_context(service, PAYLOAD), graph["intro_image"])
