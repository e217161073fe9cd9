"""Colour parsing and gradients shared by the image and animation producers."""

from __future__ import annotations

import re

from PIL import Image

RGB = tuple[int, int, int]

_HEX = re.compile(r"#?([0-9a-fA-F]{6})")


def parse_hex_color(value: str, *, param: str = "color") -> RGB:
    """Parse "#rrggbb" (the leading # is optional) into an RGB triple."""
    match = _HEX.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"{param}: expected a '#rrggbb' colour, got {value!r}")
    digits = match.group(1)
    return int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)


def mix(a: RGB, b: RGB, t: float) -> RGB:
    """Linear blend from a (t=0) to b (t=1), rounded to whole channel values."""
    return (round(a[0] + (b[0] - a[0]) * t), round(a[1] + (b[1] - a[1]) * t), round(a[2] + (b[2] - a[2]) * t))


def scale(color: RGB, factor: float) -> RGB:
    """Darken (factor < 1) or brighten a colour, clamped to 0..255."""
    return (
        min(255, round(color[0] * factor)),
        min(255, round(color[1] * factor)),
        min(255, round(color[2] * factor)),
    )


def vertical_gradient(width: int, height: int, stops: list[RGB]) -> Image.Image:
    """An RGB image fading top to bottom through evenly spaced colour stops."""
    if len(stops) == 1:
        stops = [stops[0], scale(stops[0], 0.6)]
    rows: list[RGB] = []
    spans = len(stops) - 1
    for y in range(height):
        pos = (y / max(1, height - 1)) * spans
        i = min(int(pos), spans - 1)
        rows.append(mix(stops[i], stops[i + 1], pos - i))
    # One pixel wide, then stretched: Pillow does the per-pixel work in C.
    column = Image.new("RGB", (1, height))
    column.putdata(rows)
    return column.resize((width, height), Image.Resampling.NEAREST)
