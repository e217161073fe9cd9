"""Find the buttons of an intro image from its pixels: connected regions of the button key colour."""

from __future__ import annotations

import io
from collections import deque

from PIL import Image, UnidentifiedImageError

from pipeline.media.image import key_mask

# Labelling runs on a grid of STEP x STEP cells (fast in pure Python); each region's box is then measured on the
# full-resolution mask, so coordinates are exact rather than rounded to the grid.
_STEP = 4
# Regions smaller than this many grid cells are specks (anti-aliasing, stray pixels), not buttons.
_MIN_CELLS = 4


def segment_buttons(png: bytes) -> list[dict[str, int | str]]:
    """Boxes of the key-coloured regions in a PNG, left to right: {"index", "x", "y", "width", "height"}."""
    try:
        img = Image.open(io.BytesIO(png))
        img.load()
    except (UnidentifiedImageError, OSError) as e:
        raise ValueError("png: not a decodable image") from e
    mask = key_mask(img)
    width, height = mask.size
    step = _STEP if min(width, height) >= _STEP * 4 else 1
    grid = mask.reduce(step) if step > 1 else mask
    grid_w, grid_h = grid.size
    # A cell is "on" when at least half of its pixels are key colour.
    on = bytearray(grid.point(lambda v: 1 if v >= 128 else 0).tobytes())  # one table lookup per cell, in C

    boxes: list[tuple[int, int, int, int]] = []
    for start in range(len(on)):
        if not on[start]:
            continue
        cells, (gx0, gy0, gx1, gy1) = _flood(on, start, grid_w, grid_h)
        if cells < _MIN_CELLS:
            continue
        region = (
            max(0, (gx0 - 1) * step),
            max(0, (gy0 - 1) * step),
            min(width, (gx1 + 2) * step),
            min(height, (gy1 + 2) * step),
        )
        bbox = mask.crop(region).getbbox()
        if bbox is not None:
            boxes.append((region[0] + bbox[0], region[1] + bbox[1], bbox[2] - bbox[0], bbox[3] - bbox[1]))

    # A key-coloured hole inside a label's letter ("D", "O") is part of its button, not a button of its own.
    boxes = [b for b in boxes if not any(o is not b and _inside(b, o) for o in boxes)]
    boxes.sort(key=lambda b: (b[0], b[1]))
    return [{"index": i, "x": x, "y": y, "width": w, "height": h} for i, (x, y, w, h) in enumerate(boxes)]


def _inside(inner: tuple[int, int, int, int], outer: tuple[int, int, int, int]) -> bool:
    x, y, w, h = inner
    ox, oy, ow, oh = outer
    return ox <= x and oy <= y and x + w <= ox + ow and y + h <= oy + oh


def _flood(on: bytearray, start: int, grid_w: int, grid_h: int) -> tuple[int, tuple[int, int, int, int]]:
    """Clear the 8-connected region holding `start`; return its cell count and grid bounding box."""
    on[start] = 0
    queue = deque([start])
    count = 0
    x0, y0 = grid_w, grid_h
    x1 = y1 = 0
    while queue:
        cell = queue.popleft()
        count += 1
        y, x = divmod(cell, grid_w)
        x0, x1, y0, y1 = min(x0, x), max(x1, x), min(y0, y), max(y1, y)
        for ny in (y - 1, y, y + 1):
            if not 0 <= ny < grid_h:
                continue
            row = ny * grid_w
            for nx in (x - 1, x, x + 1):
                if 0 <= nx < grid_w and on[row + nx]:
                    on[row + nx] = 0
                    queue.append(row + nx)
    return count, (x0, y0, x1, y1)
