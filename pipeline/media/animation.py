"""Short looping GIFs: a pan/zoom over the intro image, confetti for a win, a fade to dark for a loss."""

from __future__ import annotations

import io
import math
import random
from collections.abc import Callable
from typing import NamedTuple

from PIL import Image, ImageDraw, ImageEnhance, ImageOps, UnidentifiedImageError

from pipeline.media.colors import RGB, parse_hex_color, vertical_gradient
from pipeline.media.image import as_rgb, paint_buttons_image

STYLES = ("intro", "win", "lose")
FRAME_MS = 80
_MAX_FRAMES = 60
_MIN_SIDE, _MAX_SIDE = 64, 1920
_CONFETTI_COLORS: list[RGB] = [(255, 89, 94), (255, 202, 58), (138, 201, 38), (25, 130, 196), (106, 76, 147)]
_ZOOM = 0.25  # the intro ends this much closer in than it starts

_STRIP_COLOR: RGB = (255, 255, 255)
_RAIN_COLOR: RGB = (150, 150, 160)
_PALETTE_SIZE = 256  # the most a GIF colour table holds

Size = tuple[int, int]
# Frames in palette ("P") mode, and the palette index of the progress strip's colour in them.
_Frames = tuple[list[Image.Image], int]
_Painter = Callable[[Image.Image, random.Random, int, Size], _Frames]


def render_animation(
    *,
    base_png: bytes | None,
    seed: str,
    frames: int = 12,
    width: int = 320,
    height: int = 180,
    style: str = "intro",
    palette: list[str] | None = None,
    buttons_color: str | None = None,
) -> bytes:
    """An animated GIF (looping, FRAME_MS per frame); every random choice comes from `seed`.

    Without a base image the backdrop is a gradient of `palette` ("#rrggbb" colours), or of seeded colours.
    With `buttons_color`, the base image's key-coloured buttons are painted that colour first (see paint_buttons).
    """
    if style not in STYLES:
        raise ValueError(f"style: expected one of {', '.join(STYLES)}, got {style!r}")
    if not 1 <= frames <= _MAX_FRAMES:
        raise ValueError(f"frames: must be in 1..{_MAX_FRAMES}, got {frames}")
    for name, value in (("width", width), ("height", height)):
        if not _MIN_SIDE <= value <= _MAX_SIDE:
            raise ValueError(f"{name}: must be in {_MIN_SIDE}..{_MAX_SIDE}, got {value}")
    # A str seed is hashed by random.Random itself (SHA-512), so it does not depend on PYTHONHASHSEED.
    rng = random.Random(f"{style}:{seed}")
    size = (width, height)
    if base_png is not None:
        base = _decode(base_png)
        if buttons_color is not None:
            base = paint_buttons_image(base, buttons_color)
    elif palette:
        base = vertical_gradient(
            width, height, [parse_hex_color(c, param=f"palette[{i}]") for i, c in enumerate(palette)]
        )
    else:
        base = _backdrop(rng, size)
    painters: dict[str, _Painter] = {"intro": _pan_zoom, "win": _confetti, "lose": _fade}
    images, strip = painters[style](base, rng, frames, size)
    for i, img in enumerate(images):
        _progress_strip(img, i, frames, strip)
    out = io.BytesIO()
    images[0].save(
        out, format="GIF", save_all=True, append_images=images[1:], loop=0, duration=FRAME_MS, optimize=False
    )
    return out.getvalue()


def _quantise(img: Image.Image, extra: list[RGB]) -> tuple[Image.Image, list[int]]:
    """`img` in palette mode (median cut, no dithering, as Pillow's GIF writer would do per frame), with `extra`
    colours appended to its palette; also their indices, so frames can be drawn on in those exact colours."""
    paletted = img.quantize(_PALETTE_SIZE - len(extra), dither=Image.Dither.NONE)
    colours = paletted.getpalette() or []
    first = len(colours) // 3
    paletted.putpalette([*colours, *(channel for colour in extra for channel in colour)])
    return paletted, list(range(first, first + len(extra)))


def _decode(png: bytes) -> Image.Image:
    try:
        img = Image.open(io.BytesIO(png))
        img.load()
    except (UnidentifiedImageError, OSError) as e:
        raise ValueError("base_png: not a decodable image") from e
    return as_rgb(img)


def _backdrop(rng: random.Random, size: Size) -> Image.Image:
    """A seeded two-colour gradient, used when there is no base image."""
    top = (rng.randrange(20, 120), rng.randrange(20, 120), rng.randrange(60, 200))
    bottom = (rng.randrange(120, 255), rng.randrange(60, 200), rng.randrange(20, 160))
    return vertical_gradient(size[0], size[1], [top, bottom])


def _t(i: int, frames: int) -> float:
    return i / (frames - 1) if frames > 1 else 0.0


def _pan_zoom(base: Image.Image, rng: random.Random, frames: int, size: Size) -> _Frames:
    # Crop the base to the output's aspect ratio first, so the pan never stretches it; at the most zoomed frame it
    # still has a source pixel per output pixel, and no more (each frame's resize costs in proportion to it).
    scale = 1.0 + _ZOOM
    cover_size = (math.ceil(size[0] * scale), math.ceil(size[1] * scale))
    cover = ImageOps.fit(base, cover_size, method=Image.Resampling.BILINEAR)
    cw, ch = cover.size
    # Start and end anchors (0..1 of the slack left by the zoom), so each seed pans its own way.
    start = (rng.random(), rng.random())
    end = (rng.random(), rng.random())
    out = []
    for i in range(frames):
        t = _t(i, frames)
        zoom = 1.0 + _ZOOM * t
        bw, bh = cw / zoom, ch / zoom
        ax = start[0] + (end[0] - start[0]) * t
        ay = start[1] + (end[1] - start[1]) * t
        left, top = (cw - bw) * ax, (ch - bh) * ay
        out.append(cover.resize(size, Image.Resampling.BILINEAR, box=(left, top, left + bw, top + bh)))
    # One palette for every frame, from the first (the whole picture, before any zoom): each later frame shows part
    # of it, so a nearest-colour lookup per frame replaces a median cut per frame (most of the encoding time).
    paletted, (strip,) = _quantise(out[0], [_STRIP_COLOR])
    return [frame.quantize(palette=paletted, dither=Image.Dither.NONE) for frame in out], strip


class _Flake(NamedTuple):
    x: float
    y: float
    fall: float  # pixels fallen over the whole animation
    sway: float
    phase: float
    size: float
    color: RGB
    is_round: bool


def _confetti(base: Image.Image, rng: random.Random, frames: int, size: Size) -> _Frames:
    width, height = size
    backdrop = ImageEnhance.Brightness(ImageOps.fit(base, size, method=Image.Resampling.BILINEAR)).enhance(0.8)
    # The backdrop does not move: quantise it once and draw the flakes on it in palette mode, in their own entries.
    paletted, indices = _quantise(backdrop, [*_CONFETTI_COLORS, _STRIP_COLOR])
    ink = dict(zip(_CONFETTI_COLORS, indices, strict=False))
    flakes = [
        _Flake(
            x=rng.uniform(0, width),
            y=rng.uniform(-height, height * 0.3),
            fall=rng.uniform(0.8, 1.6) * height,
            sway=rng.uniform(2, 10),
            phase=rng.uniform(0, 2 * math.pi),
            size=rng.uniform(3, 7),
            color=rng.choice(_CONFETTI_COLORS),
            is_round=rng.random() < 0.4,
        )
        for _ in range(max(24, width * height // 1500))
    ]
    out = []
    for i in range(frames):
        t = _t(i, frames)
        img = paletted.copy()
        draw = ImageDraw.Draw(img)
        for f in flakes:
            x = f.x + f.sway * math.sin(f.phase + 6 * t)
            y = f.y + f.fall * t
            # A spinning flake looks thinner edge-on: scale its height by the spin.
            h = f.size * (0.3 + 0.7 * abs(math.cos(f.phase + 9 * t)))
            shape = (x - f.size, y - h, x + f.size, y + h)
            if f.is_round:
                draw.ellipse(shape, fill=ink[f.color])
            else:
                draw.rectangle(shape, fill=ink[f.color])
        out.append(img)
    return out, indices[-1]


def _fade(base: Image.Image, rng: random.Random, frames: int, size: Size) -> _Frames:
    width, height = size
    start = ImageOps.fit(base, size, method=Image.Resampling.BILINEAR)
    drops = [(rng.uniform(0, width), rng.uniform(-height, height), rng.uniform(6, 16)) for _ in range(12)]
    paletted, (rain, strip) = _quantise(start, [_RAIN_COLOR, _STRIP_COLOR])
    # The fade acts on each pixel's colour alone, so it can act on the palette instead of on every pixel: quantise
    # once, then give each frame the faded palette (the rain and the strip keep their colours).
    colours = paletted.getpalette() or []
    swatch = Image.frombytes("RGB", (rain, 1), bytes(colours[: 3 * rain]))
    out = []
    for i in range(frames):
        t = _t(i, frames)
        # Drain the colour first, then the light: the scene ends grey and dim.
        faded = ImageEnhance.Color(swatch).enhance(1.0 - t)
        faded = ImageEnhance.Brightness(faded).enhance(1.0 - 0.7 * t)
        img = paletted.copy()
        img.putpalette([*faded.tobytes(), *colours[3 * rain :]])
        draw = ImageDraw.Draw(img)
        for x, y, length in drops:
            y_now = y + height * 0.8 * t
            draw.line((x, y_now, x, y_now + length), fill=rain, width=1)
        out.append(img)
    return out, strip


def _progress_strip(img: Image.Image, i: int, frames: int, ink: int) -> None:
    # Pillow drops a GIF frame identical to the one before it (adding its duration to that one). A strip that grows
    # every frame keeps all `frames` frames even when the effect alone moves less than a pixel.
    width, height = img.size
    length = round(width * (i + 1) / frames)
    ImageDraw.Draw(img).rectangle((0, height - 2, length - 1, height - 1), fill=ink)
