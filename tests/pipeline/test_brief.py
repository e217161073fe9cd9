"""The plan reads the brief: what it derives from the words, and the params that override each part."""

from __future__ import annotations

import json
from typing import Any

import pytest

from context.service import CampaignContextService
from pipeline.brief import PALETTES, choices_for, prize_of, read_brief, words_of
from pipeline.errors import StepFailedError
from pipeline.executor import StepExecutor
from pipeline.graph import StepGraph
from pipeline.store import LocalArtifactStore
from tests.pipeline.workflows import fresh_context, run_steps

SUMMER = "Spin the wheel for a summer discount. Bright, playful, beach colours."
HALLOWEEN = "A spooky Halloween treasure hunt: find the chest with free candy. Two tries, slow and mysterious."


def test_the_brief_gives_title_palette_mood_tempo_and_buttons() -> None:
    summer = read_brief(SUMMER)
    assert summer.title == "Summer Spin & Win"
    assert summer.palette == PALETTES["summer"]
    assert (summer.mood, summer.tempo_bpm) == ("playful", 132)
    assert (summer.kind, summer.buttons) == ("wheel", ["Red", "Gold", "Blue"])
    assert summer.prize == "summer discount"

    spooky = read_brief(HALLOWEEN)
    assert spooky.title == "Halloween Treasure Hunt"
    assert spooky.palette == PALETTES["halloween"]
    assert (spooky.mood, spooky.tempo_bpm) == ("dark", 80)  # "slow" takes 12 BPM off the mood's 92
    assert (spooky.kind, spooky.buttons) == ("chests", ["Gold chest", "Iron chest", "Oak chest"])
    assert spooky.tries == 2
    assert spooky.prize == "free candy"


def test_the_same_words_read_the_same_and_case_or_punctuation_do_not_matter() -> None:
    assert read_brief(SUMMER) == read_brief(SUMMER)
    assert read_brief(SUMMER) == read_brief(SUMMER.upper().replace(",", " ").replace(".", " !"))


def test_a_brief_matching_no_table_still_gets_buttons_from_its_own_words() -> None:
    reading = read_brief("Launch the Zephyr smartwatch to marathon owners")
    assert reading.buttons == ["Launch", "Zephyr", "Smartwatch"]
    assert reading.title == "Launch the Zephyr smartwatch to"  # cut on a word boundary
    assert reading.theme == "words" and reading.mood == "upbeat"
    assert read_brief("Hi").buttons == ["This one", "That one"]  # never fewer than two choices


def test_the_winner_depends_on_the_words_and_spreads_over_the_buttons() -> None:
    winners = {read_brief(f"Spin the wheel for prize number {n}").winner_seed % 3 for n in range(30)}
    assert winners == {0, 1, 2}


@pytest.mark.parametrize(
    ("text", "prize"),
    [
        ("grab 20% off today", "20% off"),
        ("win a free coffee now", "free coffee"),
        ("unlock the big summer giveaway", "big summer giveaway"),
        ("just a game", None),
    ],
)
def test_the_prize_is_found_in_the_brief(text: str, prize: str | None) -> None:
    assert prize_of(text) == prize


def _plan(
    executor: StepExecutor,
    graph: StepGraph,
    service: CampaignContextService,
    store: LocalArtifactStore,
    payload: dict[str, Any],
) -> dict[str, Any]:
    ctx, _ = run_steps(executor, graph, fresh_context(service, payload), only={"plan"})
    art = ctx.artifacts[ctx.refs["planArtifactId"]]
    document: dict[str, Any] = json.loads(store.read(art.uri, art.hash))
    return document


def test_two_briefs_make_different_plans_and_one_brief_the_same_plan(
    executor: StepExecutor, graph: StepGraph, service: CampaignContextService, store: LocalArtifactStore
) -> None:
    summer = _plan(executor, graph, service, store, {"brief": SUMMER})
    again = _plan(executor, graph, service, store, {"brief": SUMMER})
    spooky = _plan(executor, graph, service, store, {"brief": HALLOWEEN})

    assert summer == again
    for field in ("title", "palette", "buttons", "mood", "tempoBpm", "messages"):
        assert summer[field] != spooky[field], field
    assert [b["outcome"] for b in summer["buttons"]].count("win") == 1
    assert summer["messages"]["win"] == "You won the summer discount!"


def test_payload_params_override_what_the_brief_says(
    executor: StepExecutor, graph: StepGraph, service: CampaignContextService, store: LocalArtifactStore
) -> None:
    params = {
        "title": "Mine",
        "buttons": ["A", "B"],
        "winning_button": "B",
        "palette": ["#000000", "#ffffff"],
        "mood": "calm",
        "tempo_bpm": 90,
        "tries": 1,
    }
    plan = _plan(executor, graph, service, store, {"brief": SUMMER, "steps": {"plan": params}})
    assert plan["title"] == "Mine"
    assert plan["buttons"] == [{"label": "A", "outcome": "lose"}, {"label": "B", "outcome": "win"}]
    assert plan["palette"] == ["#000000", "#ffffff"]
    assert (plan["mood"], plan["tempoBpm"], plan["tries"]) == ("calm", 90, 1)
    by_index = _plan(executor, graph, service, store, {"brief": SUMMER, "steps": {"plan": {"winning_button": 2}}})
    assert [b["outcome"] for b in by_index["buttons"]] == ["lose", "lose", "win"]


def test_a_winning_button_that_is_not_a_button_fails_the_plan_naming_the_param(
    executor: StepExecutor, graph: StepGraph, service: CampaignContextService
) -> None:
    ctx = fresh_context(service, {"brief": SUMMER, "steps": {"plan": {"winning_button": "Nope"}}})
    with pytest.raises(StepFailedError, match=r"params\.winning_button must be one of the labels"):
        executor.run(ctx, graph["plan"])


GERMAN = "Backfreude 🥨 bei Müller: finde die Überraschung!"


def test_words_of_any_script_stay_whole_and_pick_the_kind() -> None:
    assert words_of("Dreh am Glücksrad!") == ["dreh", "am", "glücksrad"]
    assert read_brief("Dreh am Glücksrad!").kind == "wheel"
    german = read_brief(GERMAN)
    assert german.title == "Backfreude 🥨 bei Müller"
    assert (german.kind, german.buttons) == ("chests", ["Backfreude", "Müller", "Überraschung"])


@pytest.mark.parametrize(
    ("text", "kind", "buttons", "tries"),
    [
        (SUMMER, "wheel", ["Red", "Gold", "Blue"], 2),
        (HALLOWEEN, "chests", ["Gold chest", "Iron chest", "Oak chest"], 2),
        ("A scratch card for a free latte", "scratch", ["Ticket A", "Ticket B", "Ticket C"], 2),
        ("Quiz: which flavour is new? Lemon, Berry or Mango.", "quiz", ["Lemon", "Berry", "Mango"], 1),
        # Three tries named on two answers would make a game nobody loses: one fewer than the choices.
        ("Quiz time: tea or coffee? Three tries.", "quiz", ["Tea", "Coffee"], 1),
    ],
)
def test_the_brief_names_the_mechanic_its_choices_and_tries_below_them(
    text: str, kind: str, buttons: list[str], tries: int
) -> None:
    reading = read_brief(text)
    assert (reading.kind, reading.buttons, reading.tries) == (kind, buttons, tries)
    assert reading.tries < len(reading.buttons)


def test_a_kind_the_theme_is_not_played_as_gets_its_own_choices() -> None:
    reading = read_brief(HALLOWEEN)
    assert choices_for(reading, kind=None, buttons=None) == ("chests", ["Gold chest", "Iron chest", "Oak chest"])
    assert choices_for(reading, kind="wheel", buttons=None) == ("wheel", ["Red", "Gold", "Blue"])
    assert choices_for(reading, kind="wheel", buttons=["A", "B"]) == ("wheel", ["A", "B"])
