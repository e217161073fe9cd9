"""Text drawn into images in every script and with emoji: a chain of fonts, each character from the first that has it.

The chain is DejaVu Sans Bold (Latin, Greek, Cyrillic, many symbols; Debian's fonts-dejavu-core), then the Noto
fonts that are installed (Debian's fonts-noto-*), then Noto Color Emoji (fonts-noto-color-emoji, drawn in colour).
`.ci/run` installs these packages; CAMPAIGN_FONT_PATH (files separated by os.pathsep) puts others first. Which font
has which character is read from each font's own character map (fontTools), so a character is drawn by a font that
really has it: a character no font in the chain has is left out, never drawn as a box.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from fontTools.ttLib import TTFont
from PIL import Image, ImageDraw, ImageFont

RGB = tuple[int, int, int]

_DEFAULT_CHAIN = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/truetype/noto/NotoSans-Bold.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/noto/NotoSansSymbols2-Regular.ttf",
    "/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf",
)
# Colour emoji fonts hold bitmaps of one size: drawn at it, then scaled to the size asked for.
_BITMAP_STRIKE = 109
# Joiners and variation selectors shape a neighbour; they have no glyph of their own to find.
_ZERO_WIDTH = frozenset({0x200D, 0xFE0E, 0xFE0F})


@dataclass(frozen=True)
class Face:
    """A font file in the chain and the characters it has."""

    path: str
    codepoints: frozenset[int]
    bitmap: bool  # a colour emoji font: bitmaps of one size

    def has(self, char: str) -> bool:
        return ord(char) in self.codepoints


def font_chain() -> tuple[Face, ...]:
    """The fonts text is drawn with, in order; empty when none is installed (then Pillow's own font draws it)."""
    extra = tuple(p for p in os.environ.get("CAMPAIGN_FONT_PATH", "").split(os.pathsep) if p)
    return _chain(extra + _DEFAULT_CHAIN)


@cache
def _chain(paths: tuple[str, ...]) -> tuple[Face, ...]:
    faces = []
    for path in paths:
        if not Path(path).is_file():
            continue
        with TTFont(path, lazy=True) as font:
            cmap = font.getBestCmap() or {}
            bitmap = "CBDT" in font or "sbix" in font
        faces.append(Face(path, frozenset(cmap), bitmap))
    return tuple(faces)


@cache
def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size)


def runs(text: str) -> list[tuple[Face | None, str]]:
    """The text split into runs drawn by one face each; characters no face has are left out."""
    chain = font_chain()
    if not chain:
        return [(None, text)]
    out: list[tuple[Face | None, str]] = []
    for char in text:
        if ord(char) in _ZERO_WIDTH:
            if out and out[-1][0] is not None and out[-1][0].bitmap:
                out[-1] = (out[-1][0], out[-1][1] + char)  # keeps an emoji sequence whole
            continue
        face = next((f for f in chain if f.has(char)), None)
        if face is None:
            continue
        if out and out[-1][0] == face:
            out[-1] = (face, out[-1][1] + char)
        else:
            out.append((face, char))
    return out


def text_width(text: str, size: int) -> float:
    """Pixels the text takes on one line at `size`."""
    return sum(_run_width(face, run, size) for face, run in runs(text))


def _run_width(face: Face | None, run: str, size: int) -> float:
    if face is None:
        return float(ImageFont.load_default(size=size).getlength(run))
    if face.bitmap:
        return float(_font(face.path, _BITMAP_STRIKE).getlength(run)) * size / _BITMAP_STRIKE
    return float(_font(face.path, size).getlength(run))


def fit(text: str, size: int, max_width: float) -> str:
    """The text on one line, shortened with an ellipsis until it fits in max_width pixels."""
    text = " ".join(text.split())  # newlines or tabs would break the one-line layout
    if text_width(text, size) <= max_width:
        return text
    while text and text_width(text + "…", size) > max_width:
        text = text[:-1]
    return text + "…" if text else ""


def draw_centered(
    img: Image.Image, text: str, box: tuple[int, int, int, int], size: int, fill: RGB, *, padding: int
) -> None:
    """Draw `text` on one line, centred in `box` (left, top, right, bottom), shortened to fit inside `padding`."""
    left, top, right, bottom = box
    fitted = fit(text, size, max(0, right - left - 2 * padding))
    if not fitted:
        return
    line = render_line(fitted, size, fill)
    x = round((left + right - line.width) / 2)
    y = round((top + bottom - line.height) / 2)
    img.paste(line, (x, y), line)


def render_line(text: str, size: int, fill: RGB) -> Image.Image:
    """The text as an RGBA image one line high (size * 1.25 px), each run drawn by its face on a shared baseline."""
    height = round(size * 1.25)
    baseline = round(size * 0.95)
    pieces = runs(text)
    width = max(1, round(sum(_run_width(face, run, size) for face, run in pieces)) + 2)
    line = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(line)
    x = 0.0
    for face, run in pieces:
        advance = _run_width(face, run, size)
        if face is None:
            draw.text((x, baseline), run, font=ImageFont.load_default(size=size), fill=fill, anchor="ls")
        elif face.bitmap:
            line.alpha_composite(_emoji(face, run, size), (round(x), max(0, baseline - size)))
        else:
            draw.text((x, baseline), run, font=_font(face.path, size), fill=fill, anchor="ls")
        x += advance
    return line


def _emoji(face: Face, run: str, size: int) -> Image.Image:
    font = _font(face.path, _BITMAP_STRIKE)
    width = max(1, round(font.getlength(run)))
    big = Image.new("RGBA", (width, round(_BITMAP_STRIKE * 1.2)), (0, 0, 0, 0))
    ImageDraw.Draw(big).text((0, 0), run, font=font, embedded_color=True)
    scale = size / _BITMAP_STRIKE
    return big.resize((max(1, round(big.width * scale)), max(1, round(big.height * scale))), Image.Resampling.LANCZOS)
