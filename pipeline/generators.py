"""The default, offline generators: real files from the trigger payload, no network, deterministic.

Each takes StepInputs and returns GeneratedOutput; production swaps them for calls to image, video and
audio services (see pipeline.plugins), without touching the executor.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pipeline import media
from pipeline.steps import GeneratedOutput, Generator, StepInputs

DEFAULT_BUTTONS = ["Play", "Spin"]
_PALETTES = (
    ["#1b1f3b", "#ff6f59", "#f7c548"],
    ["#0b3954", "#087e8b", "#bfd7ea"],
    ["#2d1e2f", "#f15946", "#f9c22e"],
    ["#1a535c", "#4ecdc4", "#ffe66d"],
)


def _json_output(artifact_type: str, document: Any) -> GeneratedOutput:
    data = json.dumps(document, sort_keys=True, indent=2, ensure_ascii=False).encode()
    return GeneratedOutput(artifact_type, data, ".json", {"mediaType": "application/json", "bytes": len(data)})


def _digest(text: str) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)


def plan(inputs: StepInputs) -> list[GeneratedOutput]:
    brief = inputs.params.get("brief", "An interactive campaign")
    brief_text = brief if isinstance(brief, str) else json.dumps(brief, sort_keys=True)
    buttons = inputs.params.get("buttons", DEFAULT_BUTTONS)
    if not isinstance(buttons, list) or not buttons or not all(isinstance(b, str) and b for b in buttons):
        raise ValueError("params.buttons must be a non-empty list of labels")
    title = str(inputs.params.get("title") or brief_text.split(".")[0][:60] or "Campaign")
    document = {
        "title": title,
        "brief": brief,
        "palette": _PALETTES[_digest(brief_text) % len(_PALETTES)],
        "buttons": [{"label": label, "outcome": "win" if i == 0 else "lose"} for i, label in enumerate(buttons)],
        "mood": str(inputs.params.get("mood", "upbeat")),
        "scenes": ["intro", "game", "outcome_win", "outcome_lose"],
    }
    return [_json_output("plan", document)]


def intro_image(inputs: StepInputs) -> list[GeneratedOutput]:
    plan_doc = inputs.read_json("plan")
    png = media.render_intro_image(
        title=plan_doc["title"],
        palette=plan_doc["palette"],
        buttons=[b["label"] for b in plan_doc["buttons"]],
        width=int(inputs.params.get("width", 640)),
        height=int(inputs.params.get("height", 360)),
    )
    return [GeneratedOutput("intro_image", png, ".png", {"mediaType": "image/png", "bytes": len(png)})]


def _animation(artifact_type: str, style: str, base_type: str | None) -> Generator:
    def generate(inputs: StepInputs) -> list[GeneratedOutput]:
        plan_doc = inputs.read_json("plan")
        frames = int(inputs.params.get("frames", 12))
        gif = media.render_animation(
            base_png=inputs.read(base_type) if base_type else None,
            seed=f"{plan_doc['title']}/{style}",
            frames=frames,
            style=style,
        )
        return [GeneratedOutput(artifact_type, gif, ".gif", {"mediaType": "image/gif", "frames": frames})]

    return generate


def button_segmentation(inputs: StepInputs) -> list[GeneratedOutput]:
    boxes = media.segment_buttons(inputs.read("intro_image"))
    return [_json_output("button_segmentation", {"image": inputs.artifact("intro_image").hash, "buttons": boxes})]


def bgm(inputs: StepInputs) -> list[GeneratedOutput]:
    mood = str(inputs.params.get("mood") or inputs.read_json("plan")["mood"])
    tempo = int(inputs.params.get("tempo_bpm", 120))
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
    plan_doc = inputs.read_json("plan")
    boxes = inputs.read_json("button_segmentation")["buttons"]
    audio = inputs.read_json("audio_manifest")
    buttons = [
        {**box, "label": spec["label"], "outcome": spec["outcome"]}
        for box, spec in zip(boxes, plan_doc["buttons"], strict=False)
    ]
    document = {
        "title": plan_doc["title"],
        "buttons": buttons,
        "audio": {"bgm": audio["bgm"]["hash"]},
        "sfx": audio["sfx"]["sprites"],
        "messages": {
            "win": inputs.params.get("win_text", "You win!"),
            "lose": inputs.params.get("lose_text", "Try again!"),
        },
        "rules": {"tries": int(inputs.params.get("tries", 1))},
    }
    return [_json_output("game_config", document)]


def game_bundle(inputs: StepInputs) -> list[GeneratedOutput]:
    audio = inputs.read_json("audio_manifest")
    bundle = media.build_game_zip(
        config=inputs.read_json("game_config"),
        intro_png=inputs.read("intro_image"),
        intro_gif=inputs.read("intro_video"),
        bgm_wav=inputs.read_object(audio["bgm"]["uri"], audio["bgm"]["hash"]),
        sfx_wav=inputs.read_object(audio["sfx"]["uri"], audio["sfx"]["hash"]),
    )
    return [GeneratedOutput("game_bundle", bundle, ".zip", {"mediaType": "application/zip", "entry": "index.html"})]


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
