"""Sound effects: short named sounds concatenated into one WAV, with a layout giving where each one sits."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable

import numpy as np

from pipeline.media.audio import Samples, add_tone, check_sample_rate, encode_wav

GAP_MS = 120  # silence between two effects, so a player that overshoots a segment does not hear the next one
_UNKNOWN_MS = 200

# (mix, start sample, length in samples, sample rate)
_Render = Callable[[Samples, int, int, int], None]


def _click(mix: Samples, start: int, length: int, sr: int) -> None:
    add_tone(mix, start, length, 1800.0, sr, amplitude=0.6, decay=8.0)


def _hover(mix: Samples, start: int, length: int, sr: int) -> None:
    add_tone(mix, start, length, 1200.0, sr, amplitude=0.3, decay=5.0)


def _notes(freqs: tuple[float, ...], amplitude: float) -> _Render:
    def render(mix: Samples, start: int, length: int, sr: int) -> None:
        each = length // len(freqs)
        for i, freq in enumerate(freqs):
            note_len = each if i < len(freqs) - 1 else length - each * i
            add_tone(mix, start + i * each, note_len, freq, sr, amplitude=amplitude, decay=2.5)

    return render


def _whoosh(mix: Samples, start: int, length: int, sr: int) -> None:
    # Seeded noise through a one-pole low-pass that opens and closes: the same bytes every time. The filter feeds
    # each sample into the next, so it stays a loop; only the mixing is done on the whole array.
    rng = random.Random("sfx:whoosh")
    level = 0.0
    out = []
    for k in range(length):
        shape = 1.0 - abs(2 * k / length - 1)  # rises to the middle, then falls
        level += (0.05 + 0.4 * shape) * (rng.uniform(-1, 1) - level)
        out.append(0.8 * shape * level)
    mix[start : start + length] += np.array(out)


_EFFECTS: dict[str, tuple[int, _Render]] = {
    # name -> (duration in ms, renderer)
    "click": (40, _click),
    "hover": (60, _hover),
    "coin": (250, _notes((987.77, 1318.51), 0.4)),
    "win": (600, _notes((523.25, 659.25, 783.99, 1046.50), 0.4)),
    "lose": (700, _notes((392.00, 369.99, 349.23, 261.63), 0.4)),
    "whoosh": (350, _whoosh),
}


def _effect(name: str) -> tuple[int, _Render]:
    if name in _EFFECTS:
        return _EFFECTS[name]
    # An unknown name still gets its own sound, a blip whose pitch comes from the name.
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    freq = 300.0 + int.from_bytes(digest[:2], "big") % 1200

    def blip(mix: Samples, start: int, length: int, sr: int) -> None:
        add_tone(mix, start, length, freq, sr, amplitude=0.4, decay=4.0)

    return _UNKNOWN_MS, blip


def sfx_layout(names: list[str]) -> list[dict[str, int | str]]:
    """Where synth_sfx puts each effect: {"name", "start_ms", "duration_ms"}, in the order given."""
    if not names:
        raise ValueError("names: at least one effect name is required")
    layout: list[dict[str, int | str]] = []
    cursor = 0
    for i, name in enumerate(names):
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"names[{i}]: expected a non-empty string, got {name!r}")
        duration, _ = _effect(name)
        layout.append({"name": name, "start_ms": cursor, "duration_ms": duration})
        cursor += duration + GAP_MS
    return layout


def synth_sfx(*, names: list[str], sample_rate: int = 22050) -> bytes:
    """One WAV holding every named effect at the offsets sfx_layout(names) gives, silence between them."""
    check_sample_rate(sample_rate)
    layout = sfx_layout(names)
    end_ms = int(layout[-1]["start_ms"]) + int(layout[-1]["duration_ms"])
    mix: Samples = np.zeros(_samples(end_ms, sample_rate))
    for entry in layout:
        start_ms, duration_ms = int(entry["start_ms"]), int(entry["duration_ms"])
        # Both ends are rounded from milliseconds, so segments line up with the layout at any sample rate.
        start = _samples(start_ms, sample_rate)
        length = _samples(start_ms + duration_ms, sample_rate) - start
        _, render = _effect(str(entry["name"]))
        render(mix, start, length, sample_rate)
    return encode_wav(mix, sample_rate)


def _samples(ms: int, sample_rate: int) -> int:
    return round(ms * sample_rate / 1000)
