"""Generators named by dotted paths, and the errors that name a bad one."""

from __future__ import annotations

import pytest

from pipeline.errors import GeneratorLoadError
from pipeline.generators import DEFAULT_GENERATORS
from pipeline.noop import noop
from pipeline.plugins import load_generator, load_generators

STEPS = list(DEFAULT_GENERATORS)


def test_a_dotted_path_loads_the_callable_it_names() -> None:
    assert load_generator("bgm", "pipeline.noop:noop") is noop
    assert load_generator("plan", "pipeline.generators:plan") is DEFAULT_GENERATORS["plan"]


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("nocolon", "expected 'package.module:callable'"),
        (":noop", "expected 'package.module:callable'"),
        ("pipeline.noop:", "expected 'package.module:callable'"),
        ("no.such.module:x", "cannot import no.such.module"),
        ("pipeline.noop:missing", "pipeline.noop has no callable missing"),
        ("pipeline.noop:_BOX", "pipeline.noop has no callable _BOX"),
    ],
)
def test_a_bad_path_names_the_step_the_path_and_the_problem(path: str, problem: str) -> None:
    with pytest.raises(GeneratorLoadError) as excinfo:
        load_generator("intro_image", path)

    message = str(excinfo.value)
    assert message.startswith(f"generator for step intro_image ({path}): ")
    assert problem in message


def test_an_import_failure_keeps_its_cause() -> None:
    with pytest.raises(GeneratorLoadError) as excinfo:
        load_generator("bgm", "no.such.module:x")

    assert isinstance(excinfo.value.__cause__, ImportError)


def test_the_star_key_sets_every_step() -> None:
    assert load_generators({"*": "pipeline.noop:noop"}, STEPS) == dict.fromkeys(STEPS, noop)


def test_a_named_step_overrides_the_star_key() -> None:
    loaded = load_generators({"*": "pipeline.noop:noop", "plan": "pipeline.generators:plan"}, STEPS)

    assert loaded["plan"] is DEFAULT_GENERATORS["plan"]
    assert {step for step, gen in loaded.items() if gen is noop} == set(STEPS) - {"plan"}


def test_without_a_star_key_only_the_named_steps_are_loaded() -> None:
    assert load_generators({"bgm": "pipeline.noop:noop"}, STEPS) == {"bgm": noop}
    assert load_generators({}, STEPS) == {}


def test_an_unknown_step_key_is_refused_naming_it() -> None:
    with pytest.raises(GeneratorLoadError, match=r"generator for step music \(.*\): no such step; known: plan, "):
        load_generators({"music": "pipeline.noop:noop", "bgm": "pipeline.noop:noop"}, STEPS)


def test_a_bad_path_under_the_star_key_names_the_first_step_it_was_for() -> None:
    with pytest.raises(GeneratorLoadError, match=r"generator for step plan \(pipeline.noop:missing\)"):
        load_generators({"*": "pipeline.noop:missing"}, STEPS)
