"""The default, offline generators: real files from the trigger payload, no network, deterministic.

Each takes StepInputs and returns GeneratedOutput; production swaps them for calls to image, video and
audio services (see pipeline.plugins), without touching the executor.
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

from pipeline import media
from pipeline.brand import check_image
from pipeline.brief import KIND_TITLES, KINDS, BriefReading, choices_for, default_tries, read_brief
from pipeline.steps import GeneratedOutput, Generator, StepInputs


def _json_output(artifact_type: str, document: Any) -> GeneratedOutput:
    data = json.dumps(document, sort_keys=True, indent=2, ensure_ascii=False).encode()
    return GeneratedOutput(artifact_type, data, ".json", {"mediaType": "application/json", "bytes": len(data)})


def plan(inputs: StepInputs) -> list[GeneratedOutput]:
    """The campaign's plan, read from the brief's words (pipeline.brief); each param given overrides its part.

    The payload was checked up front (pipeline.game_rules); the checks below keep a direct call honest too.
    """
    params = inputs.params
    brief = params.get("brief", "An interactive campaign")
    brief_text = brief if isinstance(brief, str) else json.dumps(brief, sort_keys=True)
    reading = read_brief(brief_text)
    kind, buttons = choices_for(reading, kind=params.get("kind"), buttons=params.get("buttons"))
    if kind not in KINDS:
        raise ValueError(f"params.kind must be one of {', '.join(KINDS)}, got {kind!r}")
    if len(buttons) < 2 or not all(isinstance(b, str) and b for b in buttons):
        raise ValueError("params.buttons must be a non-empty list of labels, at least two")
    if len({" ".join(b.split()).casefold() for b in buttons}) != len(buttons):
        raise ValueError(f"params.buttons must be distinct labels, got {buttons}")
    winner = _winner(params.get("winning_button"), buttons, default=reading.winner_seed)
    palette = params.get("palette", reading.palette)
    if not isinstance(palette, list) or not palette or not all(isinstance(c, str) for c in palette):
        raise ValueError("params.palette must be a non-empty list of '#rrggbb' colours")
    tries = params.get("tries")
    if tries is None:
        tries = (
            reading.tries if params.get("buttons") is None and kind == reading.kind else default_tries(kind, buttons)
        )
        tries = min(tries, len(buttons) - 1)
    prize = reading.prize
    title = str(params.get("title") or (reading.title if kind == reading.kind else _kind_title(reading, kind)))
    document: dict[str, Any] = {
        "title": title,
        "brief": brief,
        "theme": reading.theme,
        "kind": kind,
        "palette": palette,
        "buttons": [{"label": label, "outcome": "win" if i == winner else "lose"} for i, label in enumerate(buttons)],
        "mood": str(params.get("mood") or reading.mood),
        "tempoBpm": int(params.get("tempo_bpm") or reading.tempo_bpm),
        "tries": int(tries),
        "prize": prize,
        "messages": {
            "win": f"You won the {prize}!" if prize else "You win!",
            "lose": "No luck this time. Play again!",
        },
        "scenes": ["intro", "game", "outcome_win", "outcome_lose"],
    }
    if kind == "quiz":
        document["question"] = str(params.get("question") or reading.question)
    cta = params.get("cta")
    if cta is not None:
        document["cta"] = {"label": str(cta["label"]), "url": str(cta["url"])}
    return [_json_output("plan", document)]


def _kind_title(reading: BriefReading, kind: str) -> str:
    # The brief's theme title names its own mechanic ("Treasure Hunt"); played as another kind, name that one.
    if reading.palette_name != "hashed":
        return f"{reading.palette_name.capitalize()} {KIND_TITLES[kind]}"
    return reading.title


def _winner(choice: Any, buttons: list[str], *, default: int) -> int:
    """The winning button's index from a label or a 0-based index; none given: `default` modulo the count."""
    if choice is None:
        return default % len(buttons)
    if isinstance(choice, str) and choice in buttons:
        return buttons.index(choice)
    if isinstance(choice, int) and not isinstance(choice, bool) and 0 <= choice < len(buttons):
        return choice
    raise ValueError(f"params.winning_button must be one of the labels {buttons} or an index below {len(buttons)}")


def intro_image(inputs: StepInputs) -> list[GeneratedOutput]:
    plan_doc = inputs.read_json("plan")
    png = media.render_intro_image(
        title=plan_doc["title"],
        palette=plan_doc["palette"],
        buttons=[b["label"] for b in plan_doc["buttons"]],
        width=int(inputs.params.get("width", 640)),
        height=int(inputs.params.get("height", 360)),
        logo=_brand_image(inputs, "brand_logo"),
    )
    return [GeneratedOutput("intro_image", png, ".png", {"mediaType": "image/png", "bytes": len(png)})]


def _animation(artifact_type: str, style: str, base_type: str | None) -> Generator:
    def generate(inputs: StepInputs) -> list[GeneratedOutput]:
        plan_doc = inputs.read_json("plan")
        frames = int(inputs.params.get("frames", 12))
        palette = plan_doc.get("palette") or None
        base = inputs.read(base_type) if base_type else None
        gif = media.render_animation(
            base_png=base,
            seed=f"{plan_doc['title']}/{style}",
            frames=frames,
            style=style,
            palette=palette,
            # The key colour is for segmentation, not for people: the video shows the buttons in the palette.
            buttons_color=palette[-1] if palette else None,
        )
        meta = {"mediaType": "image/gif", "frames": frames, "durationMs": frames * media.FRAME_MS}
        return [GeneratedOutput(artifact_type, gif, ".gif", meta)]

    return generate


def button_segmentation(inputs: StepInputs) -> list[GeneratedOutput]:
    boxes = media.segment_buttons(inputs.read("intro_image"))
    return [_json_output("button_segmentation", {"image": inputs.artifact("intro_image").hash, "buttons": boxes})]


def bgm(inputs: StepInputs) -> list[GeneratedOutput]:
    plan_doc = inputs.read_json("plan")
    mood = str(inputs.params.get("mood") or plan_doc["mood"])
    tempo = int(_param_or(inputs, "tempo_bpm", plan_doc.get("tempoBpm", 120)))
    seconds = float(inputs.params.get("seconds", 4.0))
    wav = media.synth_bgm(mood=mood, tempo_bpm=tempo, seconds=seconds)
    meta = {"mediaType": "audio/wav", "mood": mood, "tempoBpm": tempo, "seconds": seconds}
    return [GeneratedOutput("bgm", wav, ".wav", meta)]


def sfx(inputs: StepInputs) -> list[GeneratedOutput]:
    names = inputs.params.get("names", ["click", "win", "lose"])
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ValueError("params.names must be a list of effect names")
    wav = media.synth_sfx(names=names)
    return [GeneratedOutput("sfx", wav, ".wav", {"mediaType": "audio/wav", "layout": media.sfx_layout(names)})]


def audio_manifest(inputs: StepInputs) -> list[GeneratedOutput]:
    bgm_art, sfx_art = inputs.artifact("bgm"), inputs.artifact("sfx")
    document = {
        "bgm": {"uri": bgm_art.uri, "hash": bgm_art.hash, "loop": True, "volume": inputs.params.get("bgm_volume", 0.6)},
        "sfx": {"uri": sfx_art.uri, "hash": sfx_art.hash, "sprites": (sfx_art.metadata or {}).get("layout", [])},
    }
    return [_json_output("audio_manifest", document)]


def game_config(inputs: StepInputs) -> list[GeneratedOutput]:
    """What the game plays: buttons on their segmented regions, the winner, tries and texts from the plan."""
    plan_doc = inputs.read_json("plan")
    boxes = inputs.read_json("button_segmentation")["buttons"]
    audio = inputs.read_json("audio_manifest")
    ids = button_ids([spec["label"] for spec in plan_doc["buttons"]])
    buttons = [
        {**box, "id": button_id, "label": spec["label"], "outcome": spec["outcome"]}
        for box, spec, button_id in zip(boxes, plan_doc["buttons"], ids, strict=False)
    ]
    winners = [b["id"] for b in buttons if b["outcome"] == "win"]
    if not winners:
        raise ValueError(f"the winning button of the plan was not found in the image ({len(boxes)} regions found)")
    planned = plan_doc.get("messages") or {}
    document = {
        "title": plan_doc["title"],
        "palette": plan_doc["palette"],
        "buttons": buttons,
        "winningButton": winners[0],
        "audio": {"bgm": audio["bgm"]["hash"]},
        "sfx": audio["sfx"]["sprites"],
        "messages": {
            "win": inputs.params.get("win_text") or planned.get("win") or "You win!",
            "lose": inputs.params.get("lose_text") or planned.get("lose") or "Try again!",
        },
        "rules": {"tries": int(_param_or(inputs, "tries", plan_doc.get("tries", 1)))},
        "kind": plan_doc.get("kind", "chests"),
    }
    for key in ("question", "cta", "prize"):
        if plan_doc.get(key):
            document[key] = plan_doc[key]
    return [_json_output("game_config", document)]


def _param_or(inputs: StepInputs, name: str, planned: Any) -> Any:
    # An explicit param wins even when falsy (0 is then refused by whoever checks it, not silently replaced).
    value = inputs.params.get(name)
    return planned if value is None else value


def button_ids(labels: list[str]) -> list[str]:
    """A stable id per label ("Spin red" -> "spin-red"), made unique by its position where two labels clash."""
    ids: list[str] = []
    for i, label in enumerate(labels):
        # "Glück" -> "gluck": letters lose their accents rather than split the id; an emoji-only label is numbered.
        ascii_label = unicodedata.normalize("NFKD", label).encode("ascii", "ignore").decode()
        slug = re.sub(r"[^a-z0-9]+", "-", ascii_label.lower()).strip("-")[:48] or f"button-{i}"
        ids.append(slug if slug not in ids else f"{slug}-{i}")
    return ids


def game_bundle(inputs: StepInputs) -> list[GeneratedOutput]:
    audio = inputs.read_json("audio_manifest")
    bundle = media.build_game_zip(
        config=inputs.read_json("game_config"),
        intro_png=inputs.read("intro_image"),
        intro_video=inputs.read("intro_video"),
        win_video=inputs.read("outcome_win_video"),
        lose_video=inputs.read("outcome_lose_video"),
        bgm_wav=inputs.read_object(audio["bgm"]["uri"], audio["bgm"]["hash"]),
        sfx_wav=inputs.read_object(audio["sfx"]["uri"], audio["sfx"]["hash"]),
        logo=_brand_image(inputs, "brand_logo"),
        product=_brand_image(inputs, "brand_product"),
    )
    return [GeneratedOutput("game_bundle", bundle, ".zip", {"mediaType": "application/zip", "entry": "index.html"})]


def _brand_image(inputs: StepInputs, artifact_type: str) -> bytes | None:
    """The brand image the run brought (pipeline.brand), checked; None when the run has none."""
    if artifact_type not in inputs.input_types:
        return None
    data = inputs.read(artifact_type)  # the store verifies the bytes against the request's hash
    check_image(data, role=artifact_type)
    return data


def campaign_manifest(inputs: StepInputs) -> list[GeneratedOutput]:
    # Hashes, not artifact ids: ids change with every run, and the manifest should not when nothing else did.
    entries = {}
    for artifact_type in inputs.input_types:
        art = inputs.artifact(artifact_type)
        entries[artifact_type] = {"hash": art.hash, "uri": art.uri, "stepId": art.step_id}
    return [_json_output("campaign_manifest", {"artifacts": entries, "entry": "game_bundle"})]


DEFAULT_GENERATORS: dict[str, Generator] = {
    "plan": plan,
    "intro_image": intro_image,
    "intro_video": _animation("intro_video", "intro", "intro_image"),
    "button_segmentation": button_segmentation,
    "bgm": bgm,
    "sfx": sfx,
    "audio_manifest": audio_manifest,
    "game_config": game_config,
    "game_bundle": game_bundle,
    "outcome_win_video": _animation("outcome_win_video", "win", None),
    "outcome_lose_video": _animation("outcome_lose_video", "lose", None),
    "campaign_manifest": campaign_manifest,
}
