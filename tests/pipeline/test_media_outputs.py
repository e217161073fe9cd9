"""What a campaign's media steps hand to people: valid GIF and WAV files of the durations, sizes and frame counts
the step's params and the plan ask for, showing and sounding what they should, whatever the encoder does inside."""

from __future__ import annotations

import io
import itertools
import wave
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image, ImageEnhance, ImageSequence

from context.models import CampaignContext, QualityStatus
from context.service import CampaignContextService
from pipeline.executor import StepExecutor
from pipeline.graph import StepGraph
from pipeline.store import LocalArtifactStore
from tests.pipeline.workflows import fresh_context, run_steps

FRAME_MS = 80  # each GIF frame's delay, as the generators' metadata promises (durationMs = frames x 80)
VIDEO_SIZE = (320, 180)  # every video, whatever the intro image's size
SAMPLE_RATE = 22050
PALETTE = ["#ff6b6b", "#4ecdc4", "#1a535c"]
TEMPO_BPM = 96
SECONDS = 2.5
FRAMES = {"intro_video": 7, "outcome_win_video": 12, "outcome_lose_video": 9}
SFX_NAMES = ["click", "win", "lose"]
PAYLOAD = {
    "brief": "Spin the wheel of summer. Win a free coffee",
    "steps": {
        "plan": {"palette": PALETTE, "tempo_bpm": TEMPO_BPM, "buttons": ["Red", "Green", "Blue"]},
        "bgm": {"seconds": SECONDS},
        "sfx": {"names": SFX_NAMES},
        **{step: {"frames": n} for step, n in FRAMES.items()},
    },
}


@pytest.fixture(scope="module")
def campaign(
    service: CampaignContextService, graph: StepGraph, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, tuple[bytes, dict[str, Any]]]:
    """Artifact type -> (bytes, metadata) of one campaign run through the real generators and quality checks."""
    store = LocalArtifactStore(tmp_path_factory.mktemp("media-outputs"))
    ctx, _ = run_steps(StepExecutor(service, store), graph, fresh_context(service, PAYLOAD))
    _assert_no_failed_checks(ctx)
    return {a.type: (store.read(a.uri, a.hash), a.metadata or {}) for a in ctx.artifacts.values()}


def _assert_no_failed_checks(ctx: CampaignContext) -> None:
    assert ctx.computed is not None
    failed = [c for c in ctx.computed.quality_checks if c.status == QualityStatus.FAILED]
    assert failed == []


def _frames(gif: bytes) -> tuple[Image.Image, list[Image.Image], list[int]]:
    img = Image.open(io.BytesIO(gif))
    frames, delays = [], []
    for frame in ImageSequence.Iterator(img):
        delays.append(frame.info["duration"])
        frames.append(frame.convert("RGB"))
    return img, frames, delays


def _pixels(img: Image.Image) -> NDArray[np.float64]:
    # The bottom two rows hold the progress strip, which the pictures compared against do not have.
    return np.asarray(img, dtype=np.float64)[:-2]


@pytest.mark.parametrize("step", sorted(FRAMES))
def test_each_video_is_a_looping_gif_of_the_asked_frames_size_and_duration(
    campaign: dict[str, tuple[bytes, dict[str, Any]]], step: str
) -> None:
    gif, meta = campaign[step]
    img, frames, delays = _frames(gif)

    assert img.format == "GIF"
    assert img.info.get("loop") == 0
    assert img.size == VIDEO_SIZE
    assert len(frames) == FRAMES[step]
    assert delays == [FRAME_MS] * FRAMES[step]
    assert meta["frames"] == FRAMES[step] and meta["durationMs"] == sum(delays)
    # No two frames alike: the encoder must not merge frames a viewer is meant to see one after the other.
    assert all(a.tobytes() != b.tobytes() for a, b in itertools.pairwise(frames))


def test_the_intro_video_opens_on_the_intro_image_with_its_buttons_in_the_palette(
    campaign: dict[str, tuple[bytes, dict[str, Any]]],
) -> None:
    intro = Image.open(io.BytesIO(campaign["intro_image"][0])).convert("RGB")
    key = np.all(np.asarray(intro) == (255, 0, 255), axis=-1)
    painted = np.where(key[..., None], np.array([0x1A, 0x53, 0x5C]), np.asarray(intro)).astype(np.uint8)
    # The first frame is the whole picture, before any pan or zoom.
    expected = Image.fromarray(painted).resize(VIDEO_SIZE, Image.Resampling.BILINEAR)
    _, frames, _ = _frames(campaign["intro_video"][0])

    error = np.abs(_pixels(frames[0]) - _pixels(expected))
    assert error.mean() < 2.0  # a 256-colour palette of this picture is off by about one level on average
    assert np.percentile(error.max(axis=-1), 99) < 24


def test_the_win_video_opens_on_the_dimmed_palette_gradient(
    campaign: dict[str, tuple[bytes, dict[str, Any]]],
) -> None:
    top, _, bottom = (np.array([int(c[i : i + 2], 16) for i in (1, 3, 5)]) for c in PALETTE)
    _, frames, _ = _frames(campaign["outcome_win_video"][0])
    first = _pixels(frames[0])
    # Rows are the gradient dimmed to 80%, confetti aside: compare each row's median colour, which flakes do not move.
    rows = np.median(first, axis=1)
    assert np.abs(rows[0] - top * 0.8).max() <= 3
    assert np.abs(rows[-1] - bottom * 0.8).max() <= 8  # two rows above the last gradient row
    assert np.abs(np.diff(rows, axis=0)).max() <= 8  # a smooth fade, no banding into a few flat colours


def test_the_lose_video_fades_the_gradient_to_a_dim_grey(campaign: dict[str, tuple[bytes, dict[str, Any]]]) -> None:
    _, frames, _ = _frames(campaign["outcome_lose_video"][0])
    first, last = _pixels(frames[0]), _pixels(frames[-1])
    start = Image.fromarray(first.astype(np.uint8))
    expected = ImageEnhance.Brightness(ImageEnhance.Color(start).enhance(0.0)).enhance(0.3)
    rain = np.abs(last - _pixels_full(expected)).max(axis=-1) > 12  # the falling drops, drawn after the fade
    assert rain.mean() < 0.01
    assert np.abs(last - _pixels_full(expected))[~rain].mean() < 1.5
    assert np.ptp(last[~rain], axis=-1).max() <= 2  # grey: the channels agree


def _pixels_full(img: Image.Image) -> NDArray[np.float64]:
    return np.asarray(img, dtype=np.float64)


def _wav(data: bytes) -> tuple[tuple[int, int, int], NDArray[np.float64]]:
    with wave.open(io.BytesIO(data)) as w:
        shape = (w.getnchannels(), w.getsampwidth(), w.getframerate())
        samples = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64) / 32767
    return shape, samples


def test_the_bgm_lasts_the_asked_seconds_at_the_plans_tempo(campaign: dict[str, tuple[bytes, dict[str, Any]]]) -> None:
    data, meta = campaign["bgm"]
    shape, samples = _wav(data)

    assert shape == (1, 2, SAMPLE_RATE)
    assert len(samples) == round(SECONDS * SAMPLE_RATE)
    assert meta["tempoBpm"] == TEMPO_BPM and meta["seconds"] == SECONDS
    # A melody note starts on every eighth at the plan's tempo, after the last one has died away: the sound is
    # several times louder just after each eighth than just before it. Half an eighth off that grid, it is not.
    eighth = round(60 / TEMPO_BPM / 2 * SAMPLE_RATE)
    assert _onset_rise(samples, eighth, offset=0) > 2.0
    assert _onset_rise(samples, eighth, offset=eighth // 2) < 1.5
    assert samples[-1] == 0.0  # faded out, so the loop does not click


def _onset_rise(samples: NDArray[np.float64], period: int, *, offset: int) -> float:
    """Median over the grid (every `period` samples from `offset`) of peak level 6-10 ms after / 4 ms before."""
    ms = SAMPLE_RATE // 1000
    rises = [
        np.abs(samples[s + 6 * ms : s + 10 * ms]).max() / max(np.abs(samples[s - 4 * ms : s]).max(), 1e-6)
        for s in range(period + offset, len(samples) - 10 * ms, period)
    ]
    return float(np.median(rises))


def test_the_sfx_sit_where_their_layout_says_with_silence_between(
    campaign: dict[str, tuple[bytes, dict[str, Any]]],
) -> None:
    data, meta = campaign["sfx"]
    shape, samples = _wav(data)
    layout = meta["layout"]

    assert shape == (1, 2, SAMPLE_RATE)
    assert [e["name"] for e in layout] == SFX_NAMES
    end_ms = layout[-1]["start_ms"] + layout[-1]["duration_ms"]
    assert len(samples) == round(end_ms * SAMPLE_RATE / 1000)
    for entry, after in zip(layout, [*layout[1:], None], strict=True):
        start = round(entry["start_ms"] * SAMPLE_RATE / 1000)
        stop = round((entry["start_ms"] + entry["duration_ms"]) * SAMPLE_RATE / 1000)
        assert np.abs(samples[start:stop]).max() > 0.2, entry
        assert np.any(samples[start : start + 2 * SAMPLE_RATE // 1000]), entry  # it starts at its offset, not later
        if after is not None:
            assert not np.any(samples[stop : round(after["start_ms"] * SAMPLE_RATE / 1000)]), entry
