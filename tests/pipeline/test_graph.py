"""The step graph: the default levels, and the graphs it refuses."""

from __future__ import annotations

import pytest

from pipeline.errors import StepGraphError, UnknownStepError
from pipeline.graph import StepGraph
from pipeline.noop import noop
from pipeline.steps import StepSpec, default_steps


def _spec(step_id: str, reads: tuple[str, ...] = (), output_type: str | None = None) -> StepSpec:
    return StepSpec(id=step_id, output_type=output_type or step_id, reads=reads, version="1", generator=noop)


def test_the_default_graph_runs_in_six_levels_as_the_design_lists_them() -> None:
    levels = [set(level) for level in StepGraph(default_steps()).levels]

    assert levels == [
        {"plan"},
        {"intro_image", "bgm", "sfx", "outcome_win_video", "outcome_lose_video"},
        {"intro_video", "button_segmentation", "audio_manifest"},
        {"game_config"},
        {"game_bundle"},
        {"campaign_manifest"},
    ]


def test_every_step_comes_after_the_producers_of_what_it_reads() -> None:
    graph = StepGraph(default_steps())
    level_of = {sid: i for i, level in enumerate(graph.levels) for sid in level}

    for spec in graph.specs.values():
        for artifact_type in spec.reads:
            assert level_of[graph.producer_of(artifact_type)] < level_of[spec.id]


def test_a_cycle_is_refused_naming_the_steps_in_it() -> None:
    specs = [_spec("plan"), _spec("a", ("plan", "b")), _spec("b", ("a",))]

    with pytest.raises(StepGraphError, match="cycle") as excinfo:
        StepGraph(specs)

    assert "a" in str(excinfo.value).split("cycle among steps ")[1]
    assert "b" in str(excinfo.value).split("cycle among steps ")[1]
    assert "plan" not in str(excinfo.value)


def test_a_step_reading_a_type_no_step_produces_is_refused() -> None:
    with pytest.raises(StepGraphError, match=r"step game_config reads audio_manifest, which no step produces"):
        StepGraph([_spec("plan"), _spec("game_config", ("plan", "audio_manifest"))])


def test_two_producers_of_one_type_are_refused_naming_both() -> None:
    specs = [_spec("plan"), _spec("bgm", ("plan",)), _spec("bgm_v2", ("plan",), output_type="bgm")]

    with pytest.raises(StepGraphError, match=r"type bgm is produced by bgm and bgm_v2"):
        StepGraph(specs)


def test_two_steps_with_one_id_are_refused() -> None:
    with pytest.raises(StepGraphError, match="share an id"):
        StepGraph([_spec("plan"), _spec("plan", output_type="bgm")])


def test_check_names_returns_known_names_in_the_order_given() -> None:
    graph = StepGraph(default_steps())

    assert graph.check_names(["sfx", "bgm"]) == ["sfx", "bgm"]
    assert graph.check_names([]) == []


def test_check_names_lists_every_unknown_name() -> None:
    graph = StepGraph(default_steps())

    with pytest.raises(UnknownStepError) as excinfo:
        graph.check_names(["bgm", "music", "intro"])

    assert excinfo.value.names == ["music", "intro"]
    assert "unknown step(s): music, intro" in str(excinfo.value)
    assert "campaign_manifest" in str(excinfo.value)  # the message lists what is known
