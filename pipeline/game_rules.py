"""The game a payload would make, checked before anything runs: a game that cannot be lost or won is refused.

The params are each valid on their own (pipeline.param_models); what is checked here is how they fit together
with what the brief says: the choices the plan will show (its `buttons`, else the brief's), the tries (`plan.tries`
and `game_config.tries`) below their count, distinct labels, and a winning button among them. The plan generator
resolves the choices with the same function (pipeline.brief.choices_for), so the check and the game agree.
"""

from __future__ import annotations

from typing import Any

from pipeline.brief import choices_for, read_brief
from pipeline.errors import Problem

_PLAN = "payload.steps.plan"


def game_problems(payload: dict[str, Any]) -> list[Problem]:
    """What makes the payload's game broken, each with its JSON path; [] for a playable game.

    Call it on a payload that passed its params models (types and bounds are not checked again here).
    """
    steps = payload.get("steps") or {}
    plan = steps.get("plan") or {}
    brief = payload.get("brief")
    reading = read_brief(brief if isinstance(brief, str) else "")
    given = plan.get("buttons")
    _, labels = choices_for(reading, kind=plan.get("kind"), buttons=given)
    problems = _duplicates(labels, given is not None)
    problems += _winner(plan.get("winning_button"), labels)
    for path, tries in (
        (f"{_PLAN}.tries", plan.get("tries")),
        ("payload.steps.game_config.tries", _config_tries(steps)),
    ):
        if isinstance(tries, int) and tries >= len(labels):
            problems.append(
                Problem(
                    path,
                    f"{tries} tries on {len(labels)} choices ({', '.join(labels)}) cannot be lost: "
                    f"give at most {len(labels) - 1}",
                )
            )
    return problems


def _config_tries(steps: dict[str, Any]) -> Any:
    config = steps.get("game_config") or {}
    return config.get("tries")


def _duplicates(labels: list[str], given: bool) -> list[Problem]:
    # Case and surrounding spaces do not make two choices a person can tell apart.
    seen: dict[str, int] = {}
    problems = []
    for i, label in enumerate(labels):
        key = " ".join(label.split()).casefold()
        if key in seen:
            where = f"{_PLAN}.buttons[{i}]" if given else f"{_PLAN}.buttons"
            problems.append(Problem(where, f"duplicate label {label!r} (same as buttons[{seen[key]}])"))
        else:
            seen[key] = i
    return problems


def _winner(choice: Any, labels: list[str]) -> list[Problem]:
    path = f"{_PLAN}.winning_button"
    if choice is None:
        return []
    if isinstance(choice, str) and choice not in labels:
        return [Problem(path, f"{choice!r} is not among the choices: {', '.join(labels)}")]
    if isinstance(choice, int) and not 0 <= choice < len(labels):
        return [Problem(path, f"index {choice} is not among the {len(labels)} choices (0..{len(labels) - 1})")]
    return []
