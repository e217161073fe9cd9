"""The playable game bundle: a zip holding index.html (see game_page) beside the media it plays and a manifest."""

from __future__ import annotations

import io
import json
import re
import zipfile
from hashlib import sha256
from typing import Any

from PIL import Image

from pipeline.media.colors import parse_hex_color
from pipeline.media.formats import sniff
from pipeline.media.game_page import Media, PageSpec, render_page
from pipeline.media.image import paint_buttons

OUTCOMES = ("win", "lose")
# A fixed timestamp: the zip's bytes, and so its hash, depend only on what is in it.
ZIP_DATE_TIME = (2020, 1, 1, 0, 0, 0)

_VIDEO_KINDS = ("gif", "png", "jpeg", "mp4", "webm")
_IMAGE_KINDS = ("png", "jpeg", "gif")
# Formats that are compressed already: deflating them again costs CPU and saves nothing.
_STORED_KINDS = frozenset({"png", "jpeg", "gif", "mp4", "webm"})
GAME_KINDS = ("wheel", "chests", "scratch", "quiz")
_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
DEFAULT_PALETTE = ("#1d3557", "#457b9d", "#f1faee")


def build_game_zip(
    *,
    config: dict[str, Any],
    intro_png: bytes,
    intro_video: bytes,
    win_video: bytes,
    lose_video: bytes,
    bgm_wav: bytes,
    sfx_wav: bytes,
    logo: bytes | None = None,
    product: bytes | None = None,
) -> bytes:
    """A deterministic zip: index.html, config.json, manifest.json and the media the page plays.

    config["buttons"] is a list of {"x", "y", "width", "height", "label", "outcome"} in intro.png's pixels, outcome
    "win" or "lose" (at least one wins), with an optional "id" (default: its index). Optional: "title", "palette"
    (three "#rrggbb": dark, accent, light), "rules" ({"tries": N}, default 1), "messages" ({"win": ..., "lose": ...})
    and "sfx" (a sfx_layout, so clicks play the "click", "win" and "lose" segments of sfx.wav). The videos may be
    GIF (shown as images) or MP4/WebM; manifest.json names every other file with its sha256 and size.
    """
    formats: dict[str, str] = {}
    for param, data, kinds in (
        ("intro_png", intro_png, ("png",)),
        ("intro_video", intro_video, _VIDEO_KINDS),
        ("win_video", win_video, _VIDEO_KINDS),
        ("lose_video", lose_video, _VIDEO_KINDS),
        ("bgm_wav", bgm_wav, ("wav",)),
        ("sfx_wav", sfx_wav, ("wav",)),
        ("logo", logo, _IMAGE_KINDS),
        ("product", product, _IMAGE_KINDS),
    ):
        if data is None:
            continue
        kind = sniff(data)
        if kind is None or kind not in kinds:
            raise ValueError(f"{param}: expected {' or '.join(kinds)} bytes, got {kind or 'unrecognised data'}")
        formats[param] = kind
    buttons = _check_buttons(config)
    palette = _palette(config)
    tries = _tries(config)
    try:
        config_json = json.dumps(config, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    except (TypeError, ValueError) as e:
        raise ValueError(f"config: not JSON-serialisable: {e}") from e
    game_kind = config.get("kind", "chests")
    if game_kind not in GAME_KINDS:
        raise ValueError(f"config['kind']: expected one of {', '.join(GAME_KINDS)}, got {game_kind!r}")
    cta = _cta(config)
    media = {
        "intro_image": ("intro.png", paint_buttons(intro_png, palette[0]), "png"),
        "intro_video": (f"intro_video.{formats['intro_video']}", intro_video, formats["intro_video"]),
        "win_video": (f"win_video.{formats['win_video']}", win_video, formats["win_video"]),
        "lose_video": (f"lose_video.{formats['lose_video']}", lose_video, formats["lose_video"]),
        "bgm": ("bgm.wav", bgm_wav, "wav"),
        "sfx": ("sfx.wav", sfx_wav, "wav"),
    }
    for role, data in (("logo", logo), ("product", product)):
        if data is not None:
            media[role] = (f"{role}.{formats[role]}", data, formats[role])
    page = render_page(
        PageSpec(
            config_json=script_safe_json(config),
            title=str(config.get("title") or "Campaign game"),
            palette=palette,
            tries=tries,
            kind=game_kind,
            buttons=buttons,
            files={role: Media(name, fmt, _size(data, fmt)) for role, (name, data, fmt) in media.items()},
            question=str(config.get("question") or ""),
            prize=str(config.get("prize") or ""),
            cta=cta,
        )
    )
    files = {name: data for name, data, _ in media.values()}
    stored = {name for name, _, fmt in media.values() if fmt in _STORED_KINDS}
    files["index.html"] = page.encode("utf-8")
    files["config.json"] = config_json.encode("utf-8")
    files["manifest.json"] = bundle_manifest(files, title=str(config.get("title") or ""))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE_TIME)
            info.compress_type = zipfile.ZIP_STORED if name in stored else zipfile.ZIP_DEFLATED
            info.create_system = 3  # otherwise it records the building OS, and Windows and Linux bytes differ
            info.external_attr = 0o644 << 16
            zf.writestr(info, files[name], compresslevel=None if name in stored else 6)
    return out.getvalue()


def _size(data: bytes, fmt: str) -> tuple[int, int] | None:
    """Pixels of an image or GIF (the page never shows it wider); None for a video (its element scales it)."""
    if fmt not in _IMAGE_KINDS:
        return None
    with Image.open(io.BytesIO(data)) as img:
        return img.size


def _cta(config: dict[str, Any]) -> dict[str, str] | None:
    cta = config.get("cta")
    if cta is None:
        return None
    if (
        not isinstance(cta, dict)
        or not isinstance(cta.get("label"), str)
        or not isinstance(cta.get("url"), str)
        or not re.fullmatch(r"https?://[^\s<>\"']+", cta["url"])
    ):
        raise ValueError(f"config['cta']: expected {{'label': text, 'url': 'http(s)://...'}}, got {cta!r}")
    return {"label": cta["label"], "url": cta["url"]}


def bundle_manifest(files: dict[str, bytes], *, title: str) -> bytes:
    """manifest.json: the entry page and, per file, its sha256 and size, so a consumer can check what it got."""
    document = {
        "entry": "index.html",
        "title": title,
        "files": {
            name: {"sha256": sha256(data).hexdigest(), "bytes": len(data)} for name, data in sorted(files.items())
        },
    }
    return (json.dumps(document, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def script_safe_json(value: Any) -> str:
    """JSON that can sit inside a <script> element: no "</script>", "<!--" or "&" survives as written."""
    text = json.dumps(value, sort_keys=True, ensure_ascii=True, allow_nan=False)
    # Inside JSON these characters only occur in strings, where the \\u escapes decode to the same text.
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _check_buttons(config: dict[str, Any]) -> list[dict[str, Any]]:
    if not isinstance(config, dict):
        raise ValueError(f"config: expected an object, got {type(config).__name__}")
    buttons = config.get("buttons")
    if not isinstance(buttons, list) or not buttons:
        raise ValueError("config['buttons']: expected a non-empty list of buttons")
    ids: set[str] = set()
    checked: list[dict[str, Any]] = []
    for i, button in enumerate(buttons):
        where = f"config['buttons'][{i}]"
        if not isinstance(button, dict):
            raise ValueError(f"{where}: expected an object, got {type(button).__name__}")
        for field in ("x", "y", "width", "height"):
            value = button.get(field)
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ValueError(f"{where}['{field}']: expected a non-negative number, got {value!r}")
        if not isinstance(button.get("label"), str):
            raise ValueError(f"{where}['label']: expected a string, got {button.get('label')!r}")
        if button.get("outcome") not in OUTCOMES:
            raise ValueError(f"{where}['outcome']: expected 'win' or 'lose', got {button.get('outcome')!r}")
        button_id = str(button.get("id", i))
        if not _ID.fullmatch(button_id) or button_id in ids:
            raise ValueError(f"{where}['id']: expected a unique id of letters, digits, - or _, got {button_id!r}")
        ids.add(button_id)
        checked.append({**button, "id": button_id})
    if not any(b["outcome"] == "win" for b in checked):
        raise ValueError("config['buttons']: no button wins; a game nobody can win is a broken config")
    return checked


def _palette(config: dict[str, Any]) -> tuple[str, str, str]:
    colors = config.get("palette") or list(DEFAULT_PALETTE)
    if not isinstance(colors, list) or not all(isinstance(c, str) for c in colors):
        raise ValueError(f"config['palette']: expected a list of '#rrggbb' colours, got {colors!r}")
    parsed = [
        "#{:02x}{:02x}{:02x}".format(*parse_hex_color(c, param=f"config['palette'][{i}]")) for i, c in enumerate(colors)
    ]
    # Fewer than three colours: reuse the last for the missing roles.
    while len(parsed) < 3:
        parsed.append(parsed[-1])
    return parsed[0], parsed[1], parsed[2]


def _tries(config: dict[str, Any]) -> int:
    rules = config.get("rules") or {}
    tries = rules.get("tries", 1) if isinstance(rules, dict) else None
    if isinstance(tries, bool) or not isinstance(tries, int) or not 1 <= tries <= 99:
        raise ValueError(f"config['rules']['tries']: expected a whole number in 1..99, got {tries!r}")
    return tries
