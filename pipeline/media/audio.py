"""Background music: a seeded melody over a bass line, written as 16-bit mono WAV."""

from __future__ import annotations

import io
import math
import random
import wave

import numpy as np
from numpy.typing import NDArray

Samples = NDArray[np.float64]

MAJOR = (0, 2, 4, 5, 7, 9, 11)
MINOR = (0, 2, 3, 5, 7, 8, 10)
PHRYGIAN_DOMINANT = (0, 1, 4, 5, 7, 8, 10)  # the flat second over a major third sounds uneasy

_MOODS: dict[str, tuple[str, tuple[int, ...], float]] = {
    # mood -> (scale name, scale, root frequency in Hz)
    "happy": ("major", MAJOR, 261.63),
    "upbeat": ("major", MAJOR, 293.66),
    "cheerful": ("major", MAJOR, 261.63),
    "playful": ("major", MAJOR, 329.63),
    "sad": ("minor", MINOR, 220.00),
    "calm": ("minor", MINOR, 196.00),
    "melancholic": ("minor", MINOR, 220.00),
    "tense": ("phrygian_dominant", PHRYGIAN_DOMINANT, 196.00),
    "suspense": ("phrygian_dominant", PHRYGIAN_DOMINANT, 174.61),
    "dark": ("phrygian_dominant", PHRYGIAN_DOMINANT, 164.81),
}
_PHRASE_NOTES = 16  # eighth notes, i.e. two bars of 4/4
_MAX_AMPLITUDE = 32767


def scale_for_mood(mood: str) -> tuple[str, tuple[int, ...], float]:
    """(scale name, semitone steps, root Hz) for a mood; an unknown mood gets a major scale on a root it picks."""
    key = mood.strip().lower()
    if key in _MOODS:
        return _MOODS[key]
    # Unknown moods still differ from one another, deterministically: the root comes from the mood's text.
    semitone = random.Random(f"root:{key}").randrange(0, 12)
    return "major", MAJOR, 220.0 * 2 ** (semitone / 12)


def synth_bgm(*, mood: str, tempo_bpm: int, seconds: float = 4.0, sample_rate: int = 22050) -> bytes:
    """A WAV of `seconds` of music in the mood's scale, one melody note per eighth at `tempo_bpm`."""
    if not 40 <= tempo_bpm <= 240:
        raise ValueError(f"tempo_bpm: must be in 40..240, got {tempo_bpm}")
    if not 0 < seconds <= 30:  # also refuses NaN
        raise ValueError(f"seconds: must be in (0, 30], got {seconds}")
    check_sample_rate(sample_rate)
    _, steps, root = scale_for_mood(mood)
    rng = random.Random(f"bgm:{mood.strip().lower()}:{tempo_bpm}")
    total = round(seconds * sample_rate)
    mix: Samples = np.zeros(total)
    eighth = round(60 / tempo_bpm / 2 * sample_rate)

    # The phrase repeats, so each distinct note is rendered once and mixed in wherever it recurs.
    notes: dict[tuple[float, int, float], Samples] = {}

    def note(freq: float, length: int, amplitude: float) -> Samples:
        key = (freq, length, amplitude)
        if key not in notes:
            notes[key] = render_tone(length, freq, sample_rate, amplitude=amplitude)
        return notes[key]

    phrase = _melody(rng, len(steps))
    for n, start in enumerate(range(0, total, eighth)):
        degree = phrase[n % _PHRASE_NOTES]
        if degree is not None:
            octave, step = divmod(degree, len(steps))
            mix_into(mix, start, note(root * 2 ** (octave + steps[step] / 12), eighth, 0.30))
        if n % 8 == 0:  # one bass note per bar, on the root or the fifth
            mix_into(mix, start, note(root / 2 * (1.5 if (n // 8) % 2 else 1.0), 8 * eighth, 0.22))
    _fade_out(mix, sample_rate)
    return encode_wav(mix, sample_rate)


def _fade_out(mix: Samples, sample_rate: int) -> None:
    # Notes are cut off where the clip ends; a short fade keeps that from clicking when the track loops.
    n = min(len(mix), sample_rate // 20)
    if n:
        mix[len(mix) - n :] *= 1 - np.arange(n) / n


def _melody(rng: random.Random, scale_len: int) -> list[int | None]:
    """Scale degrees (None = rest) of a phrase: a random walk that starts and ends on the tonic."""
    top = 2 * scale_len - 1
    degree = scale_len  # the tonic one octave above the root
    notes: list[int | None] = []
    for i in range(_PHRASE_NOTES):
        if i == _PHRASE_NOTES - 1:
            notes.append(scale_len)
        elif i > 0 and rng.random() < 0.12:
            notes.append(None)
        else:
            notes.append(degree)
            degree = min(top, max(0, degree + rng.choice((-2, -1, -1, 0, 1, 1, 2))))
    return notes


def add_tone(
    mix: Samples, start: int, length: int, freq: float, sample_rate: int, *, amplitude: float, decay: float = 3.0
) -> None:
    """Mix a tone (see render_tone) into `mix` at sample `start`."""
    mix_into(mix, start, render_tone(length, freq, sample_rate, amplitude=amplitude, decay=decay))


def render_tone(length: int, freq: float, sample_rate: int, *, amplitude: float, decay: float = 3.0) -> Samples:
    """A soft sine-plus-overtone note with a short attack and an exponential decay."""
    if length <= 0:
        return np.zeros(0)
    attack = max(1, min(length // 4, sample_rate // 200))  # ~5 ms, so notes do not click in
    release = max(1, min(length // 4, sample_rate // 100))
    w = 2 * math.pi * freq / sample_rate
    k = np.arange(length, dtype=np.float64)
    env = np.exp(-(decay / length) * k)
    env[:attack] *= k[:attack] / attack
    # A sample inside the attack gets the attack ramp only, even in a note too short to keep the two apart.
    tail = slice(max(attack, length - release + 1), length)
    env[tail] *= (length - k[tail]) / release
    out: Samples = amplitude * env * (np.sin(w * k) + 0.3 * np.sin(2 * w * k))
    return out


def mix_into(mix: Samples, start: int, samples: Samples) -> None:
    """Add `samples` into `mix` from `start`, dropping whatever would run past its end."""
    end = min(len(mix), start + len(samples))
    if end > start:
        mix[start:end] += samples[: end - start]


def check_sample_rate(sample_rate: int) -> None:
    """Refuse a sample rate a browser would not play."""
    if not 8000 <= sample_rate <= 48000:
        raise ValueError(f"sample_rate: must be in 8000..48000, got {sample_rate}")


def encode_wav(mix: Samples, sample_rate: int) -> bytes:
    """16-bit mono little-endian WAV of samples in -1..1 (louder ones are clipped)."""
    # astype truncates toward zero, as int() did; "<i2" is little-endian on any machine, as WAV wants.
    pcm = (np.clip(mix, -1.0, 1.0) * _MAX_AMPLITUDE).astype("<i2")
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(sample_rate)
        wav.writeframes(pcm.tobytes())
    return out.getvalue()
