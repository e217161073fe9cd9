"""Playing the result as a person would: `campaign open` and `show`, then the game in a real headless Chromium.

Chromium is Debian's (/usr/bin/chromium, installed by .ci/run), driven by Playwright's Python package: Playwright's
own browser download cannot run here. A missing Chromium fails these tests, it never skips them.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageChops, ImageStat

from cli.open_cmd import unpack_bundle
from tests.cli.test_cli import UUID_RE, campaign
from tests.pipeline.test_brief import HALLOWEEN

CHROMIUM = Path(os.environ.get("CAMPAIGN_TEST_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "browser"
PHONE = {"width": 390, "height": 844}


@dataclass(frozen=True)
class Played:
    """A demo run, unpacked by `campaign open`."""

    cwd: Path
    run_id: str
    folder: Path
    config: dict[str, Any]


def _demo(cwd: Path, *args: str) -> Played:
    proc = campaign("demo", *args, cwd=cwd)
    match = re.search(rf"run id: ({UUID_RE})", proc.stdout)
    assert proc.returncode == 0 and match, proc.stdout + proc.stderr
    run_id = match.group(1)
    folder = cwd / "game"
    opened = campaign("open", run_id, "--to", str(folder), "--no-browser", cwd=cwd)
    assert opened.returncode == 0, opened.stderr
    assert opened.stdout.strip() == f"game: {(folder / 'index.html').resolve().as_uri()}"
    return Played(cwd, run_id, folder, json.loads((folder / "config.json").read_text()))


@pytest.fixture(scope="module")
def summer(tmp_path_factory: pytest.TempPathFactory) -> Played:
    return _demo(tmp_path_factory.mktemp("summer"))


@pytest.fixture(scope="module")
def halloween(tmp_path_factory: pytest.TempPathFactory) -> Played:
    return _demo(tmp_path_factory.mktemp("halloween"), "--brief", HALLOWEEN)


def test_open_unpacks_the_bundle_and_show_says_what_the_game_is(summer: Played) -> None:
    names = {p.name for p in summer.folder.iterdir()}
    assert {"index.html", "manifest.json", "win_video.gif", "lose_video.gif", "intro_video.gif"} <= names

    proc = campaign("show", summer.run_id, cwd=summer.cwd)

    assert proc.returncode == 0, proc.stderr
    line = next(line for line in proc.stdout.splitlines() if line.startswith("game: "))
    assert line == (
        "game: Summer Spin & Win: buttons Spin red, Spin gold, Spin blue; wins: Spin red; 2 tries; "
        "music 4.0s at 132 BPM (playful); videos intro 0.96s, win 0.96s, lose 0.96s"
    )


def test_open_without_a_browser_prints_where_the_game_is(summer: Played) -> None:
    # No DISPLAY and BROWSER naming a command that fails: webbrowser finds nothing that opens the page.
    proc = campaign(
        "open", summer.run_id, cwd=summer.cwd, env={"BROWSER": "false", "DISPLAY": "", "WAYLAND_DISPLAY": ""}
    )

    assert proc.returncode == 0, proc.stderr
    first, second = proc.stdout.splitlines()
    index = Path(first.removeprefix("game: file://"))
    assert index.name == "index.html" and index.read_bytes() == (summer.folder / "index.html").read_bytes()
    assert second == "no browser found: open the path above in one"
    shutil.rmtree(index.parent)


def test_open_of_an_unknown_run_is_one_line_and_exit_3(tmp_path: Path) -> None:
    proc = campaign("open", "0b7c0f27-53a4-4f57-9b0e-6d1e8b3c7c11", "--no-browser", cwd=tmp_path)
    assert proc.returncode == 3
    assert "not found" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("name", ["../evil.html", "/etc/evil", "a/../../evil", "C:evil"])
def test_a_bundle_member_that_would_leave_the_folder_is_refused_before_writing(tmp_path: Path, name: str) -> None:
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as zf:
        zf.writestr("index.html", "<!doctype html>")
        zf.writestr(name, "x")
    with pytest.raises(ValueError, match="outside the folder"):
        unpack_bundle(data.getvalue(), tmp_path / "out")
    assert not (tmp_path / "out").exists()


# In the browser


@contextmanager
def chromium() -> Iterator[Any]:
    """Debian's headless Chromium under Playwright. Called inside each test, so a missing browser fails the test
    itself (not a fixture's setup) with a message saying what to install."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: install Debian's package (`apt-get install -y chromium`; "
            "bash .ci/run does it) so the game can be checked in a real browser"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=str(CHROMIUM))
        try:
            yield instance
        finally:
            instance.close()


class Page:
    """A phone-sized page on the unpacked game, recording console errors and every URL it loads."""

    def __init__(self, browser: Any, played: Played) -> None:
        self.context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.urls: list[str] = []
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("requestfailed", lambda r: self.errors.append(f"failed to load {r.url}"))
        self.page.on("request", lambda r: self.urls.append(r.url))
        self.page.goto((played.folder / "index.html").as_uri())

    def attr(self, name: str) -> str | None:
        value: str | None = self.page.get_attribute("html", name)
        return value

    def shows_image(self, selector: str) -> bool:
        """Visible, and the browser decoded the file (a GIF or poster the browser cannot read has no width)."""
        ok: bool = self.page.is_visible(selector) and self.page.eval_on_selector(
            selector, "el => el.tagName === 'VIDEO' ? el.readyState >= 2 : el.complete && el.naturalWidth > 0"
        )
        return ok

    def start(self) -> None:
        assert self.page.evaluate("document.getElementById('bgm').paused")  # no music before the first gesture
        self.page.click("#start")
        assert not self.page.is_visible("#splash")

    def shot(self, name: str, selector: str | None = None) -> Path:
        """A screenshot under tests/artifacts/browser: the whole phone screen, or one element at CSS pixels."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        if selector:
            self.page.locator(selector).screenshot(path=str(path), scale="css")
        else:
            self.page.screenshot(path=str(path))
        return path


def test_the_game_plays_in_chromium_lose_then_win_on_a_phone(summer: Played) -> None:
    with chromium() as browser:
        _play_lose_replay_win(browser, summer)


def _play_lose_replay_win(browser: Any, summer: Played) -> None:
    config = summer.config
    tries = config["rules"]["tries"]
    wrong = [b["id"] for b in config["buttons"] if b["outcome"] == "lose"]
    assert len(wrong) >= tries, "the demo must be losable: at least as many wrong buttons as tries"
    view = Page(browser, summer)
    page = view.page

    # The intro: its video plays over the stage, the game waits.
    assert (view.attr("data-state"), view.attr("data-tries-left")) == ("playing", str(tries))
    assert view.shows_image("#intro-video")
    view.shot("intro")
    view.start()
    page.wait_for_function("!document.getElementById('bgm').paused && document.getElementById('bgm').currentTime > 0")

    # Each button sits on its segmented region of the intro image, at the size a phone shows it.
    image = page.locator("#intro").bounding_box()
    assert image is not None and image["width"] <= PHONE["width"]
    scale = image["width"] / page.eval_on_selector("#intro", "el => el.naturalWidth")
    for spec in config["buttons"]:
        box = page.locator(f'[data-button-id="{spec["id"]}"]').bounding_box()
        assert box is not None
        assert abs(box["x"] - image["x"] - spec["x"] * scale) < 1.5
        assert abs(box["y"] - image["y"] - spec["y"] * scale) < 1.5
        assert abs(box["width"] - spec["width"] * scale) < 1.5
        assert page.inner_text(f'[data-button-id="{spec["id"]}"]') == spec["label"]
    assert page.evaluate("document.scrollingElement.scrollWidth") <= PHONE["width"]  # nothing off the side
    view.shot("playing")

    # Wrong buttons until the tries run out: the lose state and its video.
    for used, button_id in enumerate(wrong[:tries], start=1):
        assert view.attr("data-state") == "playing"
        page.click(f'[data-button-id="{button_id}"]')
        assert view.attr("data-tries-left") == str(tries - used)
    assert view.attr("data-state") == "lost"
    assert view.shows_image("#lose-video") and not page.is_visible("#win-video")
    assert page.get_attribute("#lose-video", "src") == "lose_video.gif"
    assert page.inner_text("#result") == config["messages"]["lose"]
    assert page.is_visible("#replay")
    assert page.locator(".hotspot:enabled").count() == 0
    view.shot("lost")

    # Replay starts over with every try back.
    page.click("#replay")
    assert (view.attr("data-state"), view.attr("data-tries-left")) == ("playing", str(tries))
    assert not page.is_visible("#lose-video") and page.locator(".hotspot:enabled").count() == len(config["buttons"])

    # A fresh page: the winning button of the game config wins at once.
    page.reload()
    view.start()
    page.click(f'[data-button-id="{config["winningButton"]}"]')
    assert view.attr("data-state") == "won"
    assert view.shows_image("#win-video") and not page.is_visible("#lose-video")
    assert page.get_attribute("#win-video", "src") == "win_video.gif"
    assert page.inner_text("#result") == config["messages"]["win"] == "You won the summer discount!"
    assert view.attr("data-tries-left") == str(tries)
    view.shot("won")

    assert view.errors == []
    # Everything came from the unpacked folder: no server, nothing from the network.
    assert view.urls and all(u.startswith(summer.folder.resolve().as_uri() + "/") for u in view.urls), view.urls
    view.context.close()


def test_two_briefs_make_games_that_look_different(summer: Played, halloween: Played) -> None:
    shots = []
    with chromium() as browser:
        for played, name in ((summer, "summer"), (halloween, "halloween")):
            view = Page(browser, played)
            view.start()
            shots.append(Image.open(view.shot(f"brief-{name}", "#game")).convert("RGB"))
            assert view.errors == []
            view.context.close()
    assert halloween.config["title"] == "Halloween Treasure Hunt"
    # The mean per-channel difference of the two games: 0 is identical, a palette swap is tens.
    assert shots[0].size == shots[1].size
    difference = sum(ImageStat.Stat(ImageChops.difference(*shots)).mean) / 3
    assert difference > 20, difference
