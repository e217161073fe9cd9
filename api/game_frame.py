"""The playable game for the run page's frame: the bundle's entry page, the files it plays inlined as data: URLs.

Why inlined rather than served file by file: the frame is sandboxed without same-origin, so its own requests come
from an opaque origin, and the browser sends no SameSite cookie with them; the page's request for the frame
document itself is the only one that carries the signed-in key. Inlined, the game needs no request at all, and its
Content-Security-Policy can forbid every one (`default-src 'none'`): it can neither reach the API nor anything else.
"""

from __future__ import annotations

import base64
import io
import mimetypes
import posixpath
import re
import zipfile
from html import escape, unescape

# What the frame may do: run its inline script and style, show what is inlined, fetch nothing. `sandbox` repeats the
# iframe's attribute, so the page opened on its own (not in the frame) has an opaque origin too.
CSP = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; media-src data:; "
    "font-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'self'; sandbox allow-scripts"
)
# Uncompressed bytes a bundle may hold: what a generated game is, many times over, and bounds what one request reads.
MAX_BUNDLE_BYTES = 64 * 1024 * 1024
# src="..." and poster="..." of the entry page's elements: what the generated page loads (pipeline.media.game_page).
_REFERENCE = re.compile(r"""(?P<attr>\s(?:src|poster)=)(?P<q>["'])(?P<value>[^"'<>]*)(?P=q)""", re.IGNORECASE)
_MEDIA_TYPES = {".wav": "audio/wav", ".webm": "video/webm", ".mp4": "video/mp4"}


class BundleError(ValueError):
    """The bundle is not a zip, holds no such entry page, or is too large to inline."""


def member_path(base: str, reference: str) -> str | None:
    """The zip member a relative reference of the page at `base` names; None for anything else (a URL, an absolute
    path, or one that climbs out of the bundle)."""
    if not reference or ":" in reference or reference.startswith(("/", "\\")) or "\\" in reference:
        return None
    path = posixpath.normpath(posixpath.join(posixpath.dirname(base), reference.split("#")[0].split("?")[0]))
    return None if path == ".." or path.startswith(("../", "/")) else path


def _data_url(name: str, data: bytes) -> str:
    suffix = posixpath.splitext(name)[1].lower()
    media_type = _MEDIA_TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"
    return f"data:{media_type};base64,{base64.b64encode(data).decode('ascii')}"


def game_page(bundle: bytes, entry: str = "index.html") -> str:
    """The bundle's `entry` page with each src/poster that names one of its files replaced by that file's bytes."""
    entry_path = member_path("", entry)
    if entry_path is None or not entry_path.endswith(".html"):
        raise BundleError(f"the bundle's entry {entry!r} is not an HTML page inside it")
    try:
        with zipfile.ZipFile(io.BytesIO(bundle)) as zf:
            members = {info.filename: info for info in zf.infolist() if not info.is_dir()}
            if entry_path not in members:
                raise BundleError(f"the bundle holds no {entry_path}")
            if sum(info.file_size for info in members.values()) > MAX_BUNDLE_BYTES:
                raise BundleError(f"the bundle holds more than {MAX_BUNDLE_BYTES} bytes")
            page = zf.read(entry_path).decode("utf-8")
            inlined: dict[str, str] = {}

            def inline(match: re.Match[str]) -> str:
                name = member_path(entry_path, unescape(match["value"]))
                if name is None or name not in members:
                    return match.group(0)  # left as it is: the policy lets it load nothing
                if name not in inlined:
                    inlined[name] = _data_url(name, zf.read(name))
                return f"{match['attr']}{match['q']}{escape(inlined[name])}{match['q']}"

            return _REFERENCE.sub(inline, page)
    except (zipfile.BadZipFile, UnicodeDecodeError) as e:
        raise BundleError(f"the game bundle cannot be read: {e}") from e
