"""The offline media producers: right formats, right shapes, and the same bytes for the same inputs."""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import re
import time
import wave
import zipfile
from typing import Any

import pytest
from PIL import Image, ImageChops

from pipeline.media import (
    build_game_zip,
    button_layout,
    render_animation,
    render_intro_image,
    scale_for_mood,
    segment_buttons,
    sfx_layout,
    sniff,
    synth_bgm,
    synth_sfx,
)
from pipeline.media.fonts import runs

PALETTE = ["#ff6b6b", "#4ecdc4", "#1a535c"]


def _wav(data: bytes) -> tuple[int, int, int, bytes]:
    with wave.open(io.BytesIO(data)) as w:
        return w.getnchannels(), w.getsampwidth(), w.getframerate(), w.readframes(w.getnframes())


def _game_config(labels: list[str]) -> dict[str, Any]:
    boxes = button_layout(len(labels), width=640, height=360)
    buttons = [
        {**box, "label": label, "outcome": "win" if i == 0 else "lose"}
        for i, (box, label) in enumerate(zip(boxes, labels, strict=True))
    ]
    return {"title": "Spin & Win", "buttons": buttons, "sfx": sfx_layout(["click", "win", "lose"])}


@pytest.fixture(scope="module")
def assets() -> dict[str, bytes]:
    png = render_intro_image(title="Spin & Win", palette=PALETTE, buttons=["Play", "Skip"])
    return {
        "intro_png": png,
        "intro_video": render_animation(base_png=png, seed="run-1", frames=4),
        "win_video": render_animation(base_png=None, seed="run-1", frames=3, style="win", palette=PALETTE),
        "lose_video": render_animation(base_png=None, seed="run-1", frames=3, style="lose"),
        "bgm_wav": synth_bgm(mood="happy", tempo_bpm=120, seconds=1.0),
        "sfx_wav": synth_sfx(names=["click", "win", "lose"]),
    }


# Intro image


def test_the_intro_image_is_a_png_of_the_requested_size() -> None:
    png = render_intro_image(title="Hello", palette=PALETTE, buttons=["A", "B"], width=480, height=270)
    img = Image.open(io.BytesIO(png))
    assert img.format == "PNG"
    assert img.size == (480, 270)


def test_the_intro_image_is_byte_identical_for_the_same_inputs() -> None:
    def render() -> bytes:
        return render_intro_image(title="Hello", palette=PALETTE, buttons=["A", "B"])

    assert render() == render()
    assert render() != render_intro_image(title="Hello!", palette=PALETTE, buttons=["A", "B"])


def test_an_invalid_palette_colour_is_refused_naming_its_position() -> None:
    with pytest.raises(ValueError, match=r"palette\[1\]"):
        render_intro_image(title="x", palette=["#000000", "blue"], buttons=["A"])


def test_too_many_buttons_for_the_width_are_refused() -> None:
    with pytest.raises(ValueError, match="buttons"):
        render_intro_image(title="x", palette=PALETTE, buttons=[str(i) for i in range(40)], width=320)


# Segmentation


@pytest.mark.parametrize("labels", [["Play", "Skip"], ["Rock", "Paper", "Scissors"], ["A", "B", "C", "D"]])
def test_segmentation_finds_each_drawn_button_where_it_was_drawn(labels: list[str]) -> None:
    png = render_intro_image(title="Pick one", palette=PALETTE, buttons=labels)
    found = segment_buttons(png)
    drawn = button_layout(len(labels), width=640, height=360)
    assert len(found) == len(labels)
    for box, expected in zip(found, drawn, strict=True):
        assert box["index"] == expected["index"]
        for key in ("x", "y", "width", "height"):
            assert abs(int(box[key]) - expected[key]) <= 2, (key, box, expected)


def test_segmentation_returns_boxes_left_to_right() -> None:
    found = segment_buttons(render_intro_image(title="t", palette=PALETTE, buttons=["1", "2", "3"]))
    xs = [int(b["x"]) for b in found]
    assert xs == sorted(xs)
    assert [b["index"] for b in found] == [0, 1, 2]


def test_a_magenta_palette_is_not_mistaken_for_buttons() -> None:
    # The background is as close to the key colour as a palette can get.
    png = render_intro_image(title="Pink", palette=["#ff00ff", "#f800f8", "#ff20ff"], buttons=["Yes", "No"])
    assert len(segment_buttons(png)) == 2


def test_segmentation_finds_nothing_in_an_image_without_buttons() -> None:
    assert segment_buttons(render_intro_image(title="Empty", palette=PALETTE, buttons=[])) == []


def test_segmentation_of_a_640x360_image_is_fast() -> None:
    png = render_intro_image(title="Speed", palette=PALETTE, buttons=["A", "B", "C", "D"])
    start = time.perf_counter()
    segment_buttons(png)
    assert time.perf_counter() - start < 0.2


def test_segmentation_refuses_bytes_that_are_not_an_image() -> None:
    with pytest.raises(ValueError, match="png"):
        segment_buttons(b"not a png at all")


# Animation


@pytest.mark.parametrize("style", ["intro", "win", "lose"])
def test_the_animation_is_a_looping_gif_with_the_requested_frame_count(style: str) -> None:
    base = render_intro_image(title="t", palette=PALETTE, buttons=["A"])
    gif = render_animation(base_png=base, seed="s", frames=7, width=160, height=90, style=style)
    img = Image.open(io.BytesIO(gif))
    assert img.format == "GIF"
    assert getattr(img, "n_frames", 1) == 7
    assert img.size == (160, 90)
    assert img.info.get("loop") == 0
    assert img.info.get("duration") == 80


@pytest.mark.parametrize("style", ["intro", "win", "lose"])
def test_the_animation_is_deterministic_per_seed_and_differs_across_seeds(style: str) -> None:
    def render(seed: str, base: bytes | None = None) -> bytes:
        return render_animation(base_png=base, seed=seed, frames=5, style=style)

    assert render("alpha") == render("alpha")
    assert render("alpha") != render("beta")
    base = render_intro_image(title="t", palette=PALETTE, buttons=["A"])
    assert render("alpha", base) == render("alpha", base)
    assert render("alpha", base) != render("beta", base)


def test_an_unknown_animation_style_is_refused_naming_style() -> None:
    with pytest.raises(ValueError, match="style"):
        render_animation(base_png=None, seed="s", style="spin")


# Background music


def test_bgm_is_a_16_bit_mono_wav_of_the_requested_duration() -> None:
    channels, width, rate, frames = _wav(synth_bgm(mood="happy", tempo_bpm=120, seconds=2.5, sample_rate=16000))
    assert (channels, width, rate) == (1, 2, 16000)
    assert len(frames) // 2 == 40000
    assert any(frames)  # not silence


def test_bgm_is_deterministic_and_differs_across_mood_and_tempo() -> None:
    happy = synth_bgm(mood="happy", tempo_bpm=120, seconds=2.0)
    assert happy == synth_bgm(mood="happy", tempo_bpm=120, seconds=2.0)
    assert happy != synth_bgm(mood="sad", tempo_bpm=120, seconds=2.0)
    assert happy != synth_bgm(mood="tense", tempo_bpm=120, seconds=2.0)
    assert happy != synth_bgm(mood="happy", tempo_bpm=90, seconds=2.0)


def test_moods_select_their_scales_and_unknown_moods_fall_back_to_major() -> None:
    assert scale_for_mood("Happy")[0] == "major"
    assert scale_for_mood("calm")[0] == "minor"
    assert scale_for_mood("tense")[0] not in ("major", "minor")
    assert scale_for_mood("whimsical")[0] == "major"
    assert scale_for_mood("whimsical") == scale_for_mood("whimsical")


@pytest.mark.parametrize("tempo", [39, 241, 0])
def test_a_tempo_out_of_range_is_refused_naming_tempo_bpm(tempo: int) -> None:
    with pytest.raises(ValueError, match="tempo_bpm"):
        synth_bgm(mood="happy", tempo_bpm=tempo)


@pytest.mark.parametrize("seconds", [0.0, -1.0, 30.5, float("nan")])
def test_a_duration_out_of_range_is_refused_naming_seconds(seconds: float) -> None:
    with pytest.raises(ValueError, match="seconds"):
        synth_bgm(mood="happy", tempo_bpm=120, seconds=seconds)


# Sound effects


def test_the_sfx_layout_matches_the_wav_length_and_leaves_silent_gaps() -> None:
    names = ["click", "win", "lose", "mystery"]
    layout = sfx_layout(names)
    assert [entry["name"] for entry in layout] == names
    rate = 22050
    _, _, got_rate, frames = _wav(synth_sfx(names=names, sample_rate=rate))
    assert got_rate == rate
    samples = memoryview(frames).cast("h")
    end_ms = int(layout[-1]["start_ms"]) + int(layout[-1]["duration_ms"])
    assert abs(len(samples) * 1000 / rate - end_ms) <= 1
    for before, after in itertools.pairwise(layout):
        gap_start = (int(before["start_ms"]) + int(before["duration_ms"]) + 2) * rate // 1000
        gap_end = (int(after["start_ms"]) - 2) * rate // 1000
        assert gap_end > gap_start
        assert not any(samples[gap_start:gap_end]), f"sound in the gap before {after['name']}"
    for entry in layout:
        start = int(entry["start_ms"]) * rate // 1000
        end = (int(entry["start_ms"]) + int(entry["duration_ms"])) * rate // 1000
        assert max(abs(s) for s in samples[start:end]) > 1000, f"{entry['name']} is silent"


def test_sfx_are_deterministic_and_need_at_least_one_name() -> None:
    assert synth_sfx(names=["click", "whoosh"]) == synth_sfx(names=["click", "whoosh"])
    with pytest.raises(ValueError, match="names"):
        synth_sfx(names=[])


# Game bundle


def test_the_game_zip_holds_the_page_config_and_media(assets: dict[str, bytes]) -> None:
    config = _game_config(["Play", "Skip"])
    bundle = build_game_zip(config=config, **assets)
    with zipfile.ZipFile(io.BytesIO(bundle)) as zf:
        assert sorted(zf.namelist()) == [
            "bgm.wav",
            "config.json",
            "index.html",
            "intro.png",
            "intro_video.gif",
            "lose_video.gif",
            "manifest.json",
            "sfx.wav",
            "win_video.gif",
        ]
        assert zf.read("win_video.gif") == assets["win_video"]
        assert zf.read("lose_video.gif") == assets["lose_video"]
        assert zf.read("sfx.wav") == assets["sfx_wav"]
        # People see the buttons in the palette, not the segmentation key colour; nothing else changes.
        shipped = Image.open(io.BytesIO(zf.read("intro.png")))
        original = Image.open(io.BytesIO(assets["intro_png"]))
        assert shipped.size == original.size
        assert segment_buttons(zf.read("intro.png")) == []
        assert len(segment_buttons(assets["intro_png"])) == 2
        assert json.loads(zf.read("config.json")) == config
        assert all(info.date_time == (2020, 1, 1, 0, 0, 0) for info in zf.infolist())
        # Images and GIFs are compressed already: stored as they are; text and WAV are deflated.
        methods = {info.filename: info.compress_type for info in zf.infolist()}
        assert {n for n, m in methods.items() if m == zipfile.ZIP_STORED} == {
            "intro.png",
            "intro_video.gif",
            "win_video.gif",
            "lose_video.gif",
        }
        assert {n for n, m in methods.items() if m == zipfile.ZIP_DEFLATED} == {
            "bgm.wav",
            "sfx.wav",
            "index.html",
            "config.json",
            "manifest.json",
        }
        page = zf.read("index.html").decode("utf-8")
    assert "Play" in page and "Skip" in page
    for asset in ("intro_video.gif", "win_video.gif", "lose_video.gif", "bgm.wav", "sfx.wav"):
        assert f'"{asset}"' in page
    inline = re.search(r'<script type="application/json" id="game-config">(.*?)</script>', page, re.S)
    assert inline is not None
    assert json.loads(inline.group(1)) == config
    assert page.count('class="choice"') == 2


def test_the_game_zip_is_byte_identical_for_the_same_inputs(assets: dict[str, bytes]) -> None:
    config = _game_config(["Play", "Skip"])
    first = build_game_zip(config=config, **assets)
    assert first == build_game_zip(config=json.loads(json.dumps(config)), **assets)
    assert first != build_game_zip(config=_game_config(["Play", "Later"]), **assets)


def test_a_label_that_closes_the_script_tag_is_escaped(assets: dict[str, bytes]) -> None:
    hostile = "</script><b>"
    config = _game_config([hostile, "Skip"])
    with zipfile.ZipFile(io.BytesIO(build_game_zip(config=config, **assets))) as zf:
        page = zf.read("index.html").decode("utf-8")
    assert hostile not in page
    assert "<b>" not in page
    assert "&lt;/script&gt;&lt;b&gt;" in page  # the choice's text
    inline = re.search(r'<script type="application/json" id="game-config">(.*?)</script>', page, re.S)
    assert inline is not None
    assert json.loads(inline.group(1))["buttons"][0]["label"] == hostile


def test_a_button_with_an_unknown_outcome_is_refused(assets: dict[str, bytes]) -> None:
    config = _game_config(["Play"])
    config["buttons"][0]["outcome"] = "draw"
    with pytest.raises(ValueError, match=r"config\['buttons'\]\[0\]\['outcome'\]"):
        build_game_zip(config=config, **assets)


def test_the_game_zip_refuses_media_of_the_wrong_format(assets: dict[str, bytes]) -> None:
    with pytest.raises(ValueError, match="bgm_wav"):
        build_game_zip(config=_game_config(["Play"]), **{**assets, "bgm_wav": assets["intro_png"]})


# Format sniffing


def test_sniff_recognises_each_format_the_producers_write(assets: dict[str, bytes]) -> None:
    bundle = build_game_zip(config=_game_config(["Play", "Skip"]), **assets)
    assert sniff(assets["intro_png"]) == "png"
    assert sniff(assets["intro_video"]) == "gif"
    assert sniff(assets["bgm_wav"]) == "wav"
    assert sniff(bundle) == "zip"
    assert sniff(b'{"a": [1, 2]}') == "json"
    assert sniff(b"  [1, 2]\n") == "json"


@pytest.mark.parametrize("data", [b"", b"garbage", b"42", b'"a string"', b"{not json", b"\xff\xfe{", b"RIFF1234AVI "])
def test_sniff_rejects_garbage_and_bare_json_scalars(data: bytes) -> None:
    assert sniff(data) is None


def test_the_manifest_names_every_other_file_with_its_sha256_and_size(assets: dict[str, bytes]) -> None:
    bundle = build_game_zip(config=_game_config(["Play", "Skip"]), **assets)
    with zipfile.ZipFile(io.BytesIO(bundle)) as zf:
        files = {name: zf.read(name) for name in zf.namelist()}
    manifest = json.loads(files.pop("manifest.json"))
    assert manifest["entry"] == "index.html" and manifest["title"] == "Spin & Win"
    assert set(manifest["files"]) == set(files)
    for name, data in files.items():
        assert manifest["files"][name] == {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}


def test_the_page_carries_the_hooks_tries_and_palette_of_the_config(assets: dict[str, bytes]) -> None:
    config = _game_config(["Play", "Skip", "Later"])
    config["buttons"][1]["id"] = "skip-it"
    config["rules"] = {"tries": 2}
    config["palette"] = ["#102030", "#405060", "#708090"]
    with zipfile.ZipFile(io.BytesIO(build_game_zip(config=config, **assets))) as zf:
        page = zf.read("index.html").decode("utf-8")
    assert '<html lang="en" data-state="playing" data-tries-left="2" data-kind="chests">' in page
    assert '<main id="game" class="kind-chests">' in page
    # An explicit id is kept; without one a button is known by its index.
    assert re.findall(r'data-button-id="([^"]+)"', page) == ["0", "skip-it", "2"]
    assert "--dark:#102030;--accent:#405060;--light:#708090" in page
    # A GIF is never shown wider than it was drawn (the test GIFs are 320 px wide).
    assert (
        '<img id="win-video" class="outcome-media" src="win_video.gif" alt="You win" style="width:320px" hidden>'
        in page
    )
    assert (
        '<img id="lose-video" class="outcome-media" src="lose_video.gif" alt="You lose" style="width:320px" hidden>'
        in page
    )
    assert "fetch(" not in page  # file:// pages may not fetch; everything is a relative src


def test_a_real_video_is_played_by_a_video_element(assets: dict[str, bytes]) -> None:
    # What a swapped-in video service would return: an ISO media file (only its header matters to the bundle).
    mp4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + bytes(64)
    bundle = build_game_zip(config=_game_config(["Play", "Skip"]), **{**assets, "win_video": mp4})
    with zipfile.ZipFile(io.BytesIO(bundle)) as zf:
        page = zf.read("index.html").decode("utf-8")
        assert zf.read("win_video.mp4") == mp4
    assert (
        '<video id="win-video" class="outcome-media" src="win_video.mp4" muted loop playsinline preload="auto" hidden>'
        "</video>"
    ) in page


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"rules": {"tries": 0}}, r"config\['rules'\]\['tries'\]"),
        ({"rules": {"tries": "3"}}, r"config\['rules'\]\['tries'\]"),
        ({"palette": ["blue"]}, r"config\['palette'\]\[0\]"),
    ],
)
def test_bad_rules_or_palette_are_refused_naming_the_field(
    assets: dict[str, bytes], change: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        build_game_zip(config={**_game_config(["Play", "Skip"]), **change}, **assets)


def test_a_game_nobody_can_win_or_with_clashing_ids_is_refused(assets: dict[str, bytes]) -> None:
    config = _game_config(["Play", "Skip"])
    config["buttons"][0]["outcome"] = "lose"
    with pytest.raises(ValueError, match="no button wins"):
        build_game_zip(config=config, **assets)
    config = _game_config(["Play", "Skip"])
    config["buttons"][1]["id"] = "0"
    with pytest.raises(ValueError, match=r"config\['buttons'\]\[1\]\['id'\]"):
        build_game_zip(config=config, **assets)


# Text in every script


def test_each_character_is_drawn_by_a_font_that_has_it_and_none_as_a_box() -> None:
    text = "Glück 🥨 Привет Ωmega"
    pieces = runs(text)
    assert "".join(run for _, run in pieces) == text  # nothing lost
    assert all(face is not None and all(face.has(c) for c in run if c != "\u200d") for face, run in pieces)
    emoji = [face for face, run in pieces if run == "🥨"]
    assert emoji and emoji[0] is not None and emoji[0].bitmap  # the colour emoji font, not a text font's box
    # A character no installed font has is left out rather than drawn as a box.
    assert "".join(run for _, run in runs("a\U000f0000b")) == "ab"


def _saturated(png: bytes, box: tuple[int, int, int, int]) -> int:
    _, s, v = Image.open(io.BytesIO(png)).convert("HSV").crop(box).split()
    both = ImageChops.multiply(s.point(lambda x: 255 if x > 120 else 0), v.point(lambda x: 255 if x > 120 else 0))
    return int(sum(both.histogram()[255:]))


def test_umlauts_and_emoji_are_drawn_into_the_intro_image() -> None:
    plain = render_intro_image(title="Backfreude bei Muller", palette=PALETTE, buttons=["Gluck", "Pech"])
    german = render_intro_image(title="Backfreude 🥨 bei Müller", palette=PALETTE, buttons=["Glück 🍀", "Pech"])
    # The title is white text on a plain band: the emoji brings its colours into it.
    assert _saturated(german, (0, 0, 640, 72)) > _saturated(plain, (0, 0, 640, 72)) + 100
    # Umlauts change the drawn label; the emoji keeps the button one segmented region.
    assert len(segment_buttons(german)) == 2
    assert Image.open(io.BytesIO(german)).crop((0, 0, 640, 72)) != Image.open(io.BytesIO(plain)).crop((0, 0, 640, 72))
