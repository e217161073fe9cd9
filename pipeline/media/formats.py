"""Recognise the media formats the pipeline produces, from the bytes alone."""

from __future__ import annotations

import json

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_GIF_MAGICS = (b"GIF87a", b"GIF89a")
# A zip starts with a local file header, or with the end-of-directory record when it has no entries.
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")


def sniff(data: bytes) -> str | None:
    """The format of `data`: "png", "jpeg", "gif", "mp4", "webm", "wav", "zip", "json" (object or array), or None."""
    if data.startswith(_PNG_MAGIC):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if len(data) >= 12 and data[4:8] == b"ftyp":  # ISO base media (MP4, MOV): the ftyp box comes first
        return "mp4"
    if data.startswith(b"\x1a\x45\xdf\xa3"):  # EBML header: WebM / Matroska
        return "webm"
    if data.startswith(_GIF_MAGICS):
        return "gif"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "wav"
    if data.startswith(_ZIP_MAGICS):
        return "zip"
    if _is_json_document(data):
        return "json"
    return None


def _is_json_document(data: bytes) -> bool:
    # Only containers count: a bare number or string parses as JSON too, but no artifact is one.
    head = data.lstrip()[:1]
    if head not in (b"{", b"[") and not data.startswith(b"\xef\xbb\xbf"):
        return False
    try:
        value = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        return False
    return isinstance(value, dict | list)
