"""The plan's params (README: palette, tempo_bpm, tries, winning_button, kind, cta) through the real request path:
refused up front when they make a broken game, and otherwise accepted and used by the game that is built."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import pytest

from context.registry import ReferenceTypeRegistry
from context.service import CampaignContextService
from pipeline.errors import RequestInvalidError
from pipeline.graph import StepGraph
from pipeline.launch import RunRequest, validate_request
from pipeline.steps import default_steps
from tests.cli.test_cli import UUID_RE, campaign
from tests.conftest import REPO_CONFIG
from tests.pipeline.test_brief import SUMMER

GRAPH = StepGraph(default_steps())


def _refusals(payload: dict[str, Any]) -> dict[str, str]:
    request = RunRequest(tenant_id=uuid.uuid4(), payload=payload)
    try:
        validate_request(
            request, service=CampaignContextService(ReferenceTypeRegistry.from_config(REPO_CONFIG)), graph=GRAPH
        )
    except RequestInvalidError as e:
        return {p.path: p.message for p in e.problems}
    return {}


def test_a_broken_game_is_refused_by_the_cli_with_exit_2_and_each_json_path(tmp_path: Path) -> None:
    payload = {
        "brief": SUMMER,
        "steps": {
            "plan": {"buttons": ["Yes", "yes ", "No"], "winning_button": "Maybe", "tries": 3},
            "game_config": {"tries": 4},
        },
    }
    (tmp_path / "broken.json").write_text(json.dumps(payload))

    proc = campaign("run", "broken.json", cwd=tmp_path)

    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.strip().splitlines() == [
        "error: steps.plan.buttons[1]: duplicate label 'yes ' (same as buttons[0])",
        "error: steps.plan.winning_button: 'Maybe' is not among the choices: Yes, yes , No",
        "error: steps.plan.tries: 3 tries on 3 choices (Yes, yes , No) cannot be lost: give at most 2",
        "error: steps.game_config.tries: 4 tries on 3 choices (Yes, yes , No) cannot be lost: give at most 2",
    ]


@pytest.mark.parametrize(
    ("plan", "path", "message"),
    [
        # The brief's wheel has three segments: three tries would always win.
        ({"tries": 3}, "payload.steps.plan.tries", "3 tries on 3 choices (Red, Gold, Blue) cannot be lost"),
        ({"buttons": ["A", "B", "A"]}, "payload.steps.plan.buttons[2]", "duplicate label 'A' (same as buttons[0])"),
        ({"winning_button": "Purple"}, "payload.steps.plan.winning_button", "'Purple' is not among the choices"),
        ({"winning_button": 5}, "payload.steps.plan.winning_button", "index 5 is not among the 3 choices (0..2)"),
        ({"buttons": ["A", "B"], "winning_button": "Red"}, "payload.steps.plan.winning_button", "'Red' is not"),
        ({"palette": ["blue"]}, "payload.steps.plan.palette[0]", "String should match pattern"),
        ({"kind": "slots"}, "payload.steps.plan.kind", "Input should be 'wheel', 'chests', 'scratch' or 'quiz'"),
        ({"cta": {"label": "Shop", "url": "javascript:alert(1)"}}, "payload.steps.plan.cta.url", "should match"),
        ({"tempo_bpm": 500}, "payload.steps.plan.tempo_bpm", "less than or equal to 240"),
    ],
)
def test_each_broken_plan_is_refused_naming_its_json_path(plan: dict[str, Any], path: str, message: str) -> None:
    found = _refusals({"brief": SUMMER, "steps": {"plan": plan}})
    assert list(found) == [path]
    assert message in found[path]


def test_a_game_with_tries_below_its_choices_is_accepted() -> None:
    assert _refusals({"brief": SUMMER, "steps": {"plan": {"tries": 2}, "game_config": {"tries": 2}}}) == {}
    assert _refusals({"brief": SUMMER, "steps": {"plan": {"buttons": ["A", "B"], "winning_button": 1}}}) == {}


def test_the_readme_plan_params_are_accepted_and_used_by_the_game(tmp_path: Path) -> None:
    plan = {
        "buttons": ["Lemon", "Berry", "Mango", "Lime"],
        "winning_button": "Mango",
        "tries": 2,
        "palette": ["#101820", "#fee715", "#f4f4f4"],
        "tempo_bpm": 100,
        "kind": "quiz",
        "question": "Which flavour is new?",
        "cta": {"label": "Shop now", "url": "https://example.com/shop?x=1&y=2"},
    }
    (tmp_path / "p.json").write_text(json.dumps({"brief": SUMMER, "steps": {"plan": plan}}))

    proc = campaign("run", "p.json", cwd=tmp_path)
    match = re.search(rf"run id: ({UUID_RE})", proc.stdout)
    assert proc.returncode == 0 and match, proc.stdout + proc.stderr
    opened = campaign("open", match.group(1), "--to", "game", "--no-browser", cwd=tmp_path)
    assert opened.returncode == 0, opened.stderr

    config = json.loads((tmp_path / "game" / "config.json").read_text())
    assert [b["label"] for b in config["buttons"]] == plan["buttons"]
    assert next(b["label"] for b in config["buttons"] if b["id"] == config["winningButton"]) == "Mango"
    assert config["rules"] == {"tries": 2}
    assert config["palette"] == plan["palette"]
    assert (config["kind"], config["question"], config["cta"]) == ("quiz", plan["question"], plan["cta"])
    page = (tmp_path / "game" / "index.html").read_text()
    assert 'data-kind="quiz"' in page and "--dark:#101820;--accent:#fee715;--light:#f4f4f4" in page
    assert '<a id="cta" class="pill" href="https://example.com/shop?x=1&amp;y=2"' in page
    shown = campaign("show", match.group(1), cwd=tmp_path)
    assert "music 4.0s at 100 BPM" in shown.stdout, shown.stdout
