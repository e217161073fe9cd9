"""The intro image: a palette gradient, a title band and a row of key-coloured buttons."""

from __future__ import annotations

import io

from PIL import Image, ImageChops, ImageDraw

from pipeline.media.colors import RGB, parse_hex_color, scale, vertical_gradient
from pipeline.media.fonts import draw_centered

# Buttons are filled with this exact colour and nothing else in the image may match it, so segmentation can find
# them from the pixels alone.
BUTTON_KEY_COLOR: RGB = (255, 0, 255)
# A pixel counts as key colour when red and blue are at least this and green at most KEY_MAX_GREEN.
KEY_MIN_RED_BLUE = 224
KEY_MAX_GREEN = 32

_DEFAULT_PALETTE = ["#1d3557", "#457b9d", "#a8dadc"]
_MIN_SIDE, _MAX_SIDE = 64, 4096
_MIN_BUTTON_WIDTH = 24
# Wider than two segmentation grid cells, so neighbouring buttons never merge into one region.
_MIN_GAP = 16
_LABEL_COLOR: RGB = (20, 20, 20)
_TITLE_COLOR: RGB = (255, 255, 255)


def button_layout(count: int, *, width: int, height: int) -> list[dict[str, int]]:
    """Where render_intro_image draws `count` buttons: one row near the bottom, equal widths, left to right."""
    if count < 0:
        raise ValueError(f"buttons: count must not be negative, got {count}")
    if count == 0:
        return []
    margin = max(8, width // 16)
    gap = max(_MIN_GAP, width // 32)
    button_w = (width - 2 * margin - (count - 1) * gap) // count
    if button_w < _MIN_BUTTON_WIDTH:
        raise ValueError(f"buttons: {count} buttons do not fit in an image {width} pixels wide")
    button_h = max(20, height // 7)
    top = height - max(8, height // 12) - button_h
    # Spread the rounding remainder into the outer margins so the row stays centred.
    left = (width - (count * button_w + (count - 1) * gap)) // 2
    return [
        {"index": i, "x": left + i * (button_w + gap), "y": top, "width": button_w, "height": button_h}
        for i in range(count)
    ]


def render_intro_image(
    *,
    title: str,
    palette: list[str],
    buttons: list[str],
    width: int = 640,
    height: int = 360,
    logo: bytes | None = None,
) -> bytes:
    """A PNG: palette gradient background, a title band (the brand's logo at its left when given), and one
    key-coloured button per label."""
    for name, value in (("width", width), ("height", height)):
        if not _MIN_SIDE <= value <= _MAX_SIDE:
            raise ValueError(f"{name}: must be in {_MIN_SIDE}..{_MAX_SIDE}, got {value}")
    stops = [parse_hex_color(c, param=f"palette[{i}]") for i, c in enumerate(palette or _DEFAULT_PALETTE)]
    boxes = button_layout(len(buttons), width=width, height=height)

    img = vertical_gradient(width, height, stops)
    draw = ImageDraw.Draw(img)
    band_h = max(24, height // 5)
    draw.rectangle((0, 0, width - 1, band_h - 1), fill=scale(stops[0], 0.45))
    title_left = 0
    if logo is not None:
        title_left = _paste_logo(img, logo, band_h)
    draw_centered(img, title, (title_left, 0, width, band_h), max(10, band_h // 2), _TITLE_COLOR, padding=width // 20)
    img = _remove_key_color(img)

    draw = ImageDraw.Draw(img)
    for box, label in zip(boxes, buttons, strict=True):
        x, y, w, h = box["x"], box["y"], box["width"], box["height"]
        draw.rectangle((x, y, x + w - 1, y + h - 1), fill=BUTTON_KEY_COLOR)
        # Padding keeps an unbroken ring of key colour around the label, so the button stays one region.
        draw_centered(img, label, (x, y, x + w, y + h), max(8, h // 2), _LABEL_COLOR, padding=max(8, h // 4))

    out = io.BytesIO()
    img.save(out, format="PNG", optimize=False)
    return out.getvalue()


def _paste_logo(img: Image.Image, logo: bytes, band_h: int) -> int:
    """The logo fitted into the band's height at its left, on its own alpha; returns where the title may start."""
    with Image.open(io.BytesIO(logo)) as opened:
        mark = opened.convert("RGBA")
    side = max(8, band_h - 2 * max(4, band_h // 8))
    mark.thumbnail((side * 3, side), Image.Resampling.LANCZOS)
    margin = max(4, band_h // 8)
    img.paste(mark, (margin, (band_h - mark.height) // 2), mark)
    return margin + mark.width


def as_rgb(img: Image.Image) -> Image.Image:
    """`img` in RGB, itself when it is already: convert() would copy it (megabytes for a large image), and the
    callers only read it."""
    return img if img.mode == "RGB" else img.convert("RGB")


def key_mask(img: Image.Image) -> Image.Image:
    """An "L" image, 255 where a pixel counts as the button key colour and 0 elsewhere."""
    r, g, b = as_rgb(img).split()
    red_ok = r.point(lambda v: 255 if v >= KEY_MIN_RED_BLUE else 0)
    green_ok = g.point(lambda v: 255 if v <= KEY_MAX_GREEN else 0)
    blue_ok = b.point(lambda v: 255 if v >= KEY_MIN_RED_BLUE else 0)
    return ImageChops.multiply(ImageChops.multiply(red_ok, green_ok), blue_ok)


def paint_buttons(png: bytes, color: str) -> bytes:
    """The PNG with every key-coloured pixel painted `color` ("#rrggbb"): the image as a person should see it."""
    painted = paint_buttons_image(Image.open(io.BytesIO(png)), color)
    out = io.BytesIO()
    painted.save(out, format="PNG", optimize=False)
    return out.getvalue()


def paint_buttons_image(img: Image.Image, color: str) -> Image.Image:
    """paint_buttons on a decoded image, for a caller that goes on drawing rather than storing a PNG."""
    rgb = as_rgb(img)
    return Image.composite(Image.new("RGB", rgb.size, parse_hex_color(color)), rgb, key_mask(rgb))


def _remove_key_color(img: Image.Image) -> Image.Image:
    # A magenta-ish palette (or a gradient between two colours) could produce key-coloured background pixels;
    # lifting their green channel makes them look the same to a person but not to segmentation.
    mask = key_mask(img)
    if mask.getbbox() is None:
        return img
    r, g, b = img.split()
    g = Image.composite(Image.new("L", img.size, KEY_MAX_GREEN * 2), g, mask)
    return Image.merge("RGB", (r, g, b))
