"""The game for the run page's frame: the entry page with its bundle's files inlined, nothing from outside it."""

from __future__ import annotations

import base64
import io
import zipfile

import pytest

from api import game_frame
from api.game_frame import BundleError, game_page, member_path

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 8


def _zip(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return out.getvalue()


def test_each_file_the_page_names_is_inlined_and_references_outside_the_bundle_are_left_to_the_policy() -> None:
    page = (
        '<img src="a.png"><audio src=\'media/b.wav\'></audio><video poster="a.png" src="sub/../a.png"></video>'
        '<img src="../secret.png"><img src="/etc/passwd"><img src="http://example.test/x.png"><img src="gone.png">'
    )
    bundle = _zip({"index.html": page.encode(), "a.png": PNG, "media/b.wav": b"RIFF", "../secret.png": PNG})

    html = game_page(bundle)

    png = "data:image/png;base64," + base64.b64encode(PNG).decode()
    assert html.count(f'"{png}"') == 3  # src, poster, and the path that climbs back into the bundle
    assert "'data:audio/wav;base64," + base64.b64encode(b"RIFF").decode() + "'" in html
    # A member named ../secret.png is never reached from the page: the reference climbs out of the bundle first.
    for kept in ('src="../secret.png"', 'src="/etc/passwd"', 'src="http://example.test/x.png"', 'src="gone.png"'):
        assert kept in html, kept


@pytest.mark.parametrize("reference", ["../x", "a/../../x", "/x", "\\\\host\\x", "c:\\x", "https://x", ""])
def test_a_reference_that_leaves_the_bundle_names_no_member(reference: str) -> None:
    assert member_path("index.html", reference) is None


def test_the_entry_must_be_an_html_page_inside_the_bundle() -> None:
    bundle = _zip({"index.html": b"<p>", "../evil.html": b"<p>", "page.txt": b"x"})
    for entry in ("../evil.html", "/index.html", "page.txt", "missing.html"):
        with pytest.raises(BundleError):
            game_page(bundle, entry)
    with pytest.raises(BundleError):
        game_page(b"not a zip")


def test_a_bundle_larger_than_the_cap_is_refused_before_it_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    bundle = _zip({"index.html": b"<p>", "big.bin": b"x" * 2000})
    monkeypatch.setattr(game_frame, "MAX_BUNDLE_BYTES", 1000)
    with pytest.raises(BundleError, match="more than 1000 bytes"):
        game_page(bundle)
