"""Playing the result as a person would: `campaign open` and `show`, then the game in a real headless Chromium.

Chromium is Debian's (/usr/bin/chromium, installed by .ci/run), driven by Playwright's Python package: Playwright's
own browser download cannot run here. A missing Chromium fails these tests, it never skips them.
"""

from __future__ import annotations

import io
import json
import math
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
from tests.pipeline.test_brief import GERMAN, HALLOWEEN

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
        "game: Summer Spin & Win (wheel): buttons Red, Gold, Blue; wins: Red; 2 tries; "
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

DESKTOP = {"width": 1280, "height": 800}
VIEWPORTS = {"phone": PHONE, "desktop": DESKTOP}
KINDS = ("wheel", "chests", "scratch", "quiz")
SCRATCH = "Scratch card for our coffee shop: win a free latte. Cozy autumn vibes."
QUIZ = "Sports drink quiz: which flavour keeps you going? Lemon, Berry or Mango. Win a free drink!"
CTA = {"label": "Get your drink", "url": "https://example.com/drinks?from=quiz&x=1"}


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Played:
    return _demo(tmp_path_factory.mktemp("scratch"), "--brief", SCRATCH)


def _run(cwd: Path, payload: dict[str, Any]) -> Played:
    # Through `campaign run` (embedded, no broker): the plan's params come with the payload.
    (cwd / "payload.json").write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")
    proc = campaign("run", "payload.json", cwd=cwd)
    match = re.search(rf"run id: ({UUID_RE})", proc.stdout)
    assert proc.returncode == 0 and match, proc.stdout + proc.stderr
    folder = cwd / "game"
    assert campaign("open", match.group(1), "--to", str(folder), "--no-browser", cwd=cwd).returncode == 0
    return Played(cwd, match.group(1), folder, json.loads((folder / "config.json").read_text()))


@pytest.fixture(scope="module")
def quiz(tmp_path_factory: pytest.TempPathFactory) -> Played:
    return _run(tmp_path_factory.mktemp("quiz"), {"brief": QUIZ, "steps": {"plan": {"cta": CTA}}})


@pytest.fixture(scope="module")
def games(summer: Played, halloween: Played, scratch: Played, quiz: Played) -> dict[str, Played]:
    return {"wheel": summer, "chests": halloween, "scratch": scratch, "quiz": quiz}


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


# Measured in the page: the game's and the board's boxes, text drawn under 14 px (SVG text at its drawn size),
# anything visible outside the viewport, and how far the document scrolls.
_LAYOUT_JS = """() => {
  const vw = innerWidth, vh = innerHeight, small = [], outside = [];
  const box = (id) => { const r = document.getElementById(id).getBoundingClientRect(); return [r.width, r.height]; };
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode, el = node.parentElement;
    if (!el || !node.textContent.trim() || el.closest("script,style,[hidden]") || !el.getClientRects().length) continue;
    let size = parseFloat(getComputedStyle(el).fontSize);
    if (el instanceof SVGElement) { const m = el.getScreenCTM(); size *= Math.hypot(m.a, m.b); }
    if (size < 13.99) small.push(node.textContent.trim() + " @ " + size.toFixed(1) + "px");
  }
  for (const el of document.querySelectorAll("#game *")) {
    if (el.closest("[hidden]")) continue;
    const r = el.getBoundingClientRect();
    if (!r.width || !r.height) continue;
    if (r.left < -1 || r.top < -1 || r.right > vw + 1 || r.bottom > vh + 1) {
      outside.push((el.id || el.getAttribute("class") || el.tagName) + " " + [r.left, r.top, r.right, r.bottom]);
    }
  }
  const s = document.scrollingElement;
  return {game: box("game"), board: box("board"), small, outside, scroll: [s.scrollWidth, s.scrollHeight], vw, vh};
}"""


class Page:
    """A page on the unpacked game at one viewport, recording console errors and every URL it loads."""

    def __init__(self, browser: Any, played: Played, viewport: str = "phone") -> None:
        size = VIEWPORTS[viewport]
        phone = viewport == "phone"
        self.viewport = viewport
        self.context = browser.new_context(
            viewport=size, is_mobile=phone, has_touch=phone, device_scale_factor=2 if phone else 1
        )
        self.page = self.context.new_page()
        self.played = played
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

    def choose(self, button_id: str) -> None:
        """A tap or click on the choice; then wait while its mechanic plays out (a spin, a lid, a reveal)."""
        before = (self.attr("data-state"), self.attr("data-tries-left"))
        self.page.click(f'.choice[data-button-id="{button_id}"]')
        self.settled(before)

    def settled(self, before: tuple[str | None, str | None]) -> None:
        self.page.wait_for_function(
            "([state, left]) => document.documentElement.dataset.state !== state"
            " || document.documentElement.dataset.triesLeft !== left",
            arg=list(before),
            timeout=10_000,
        )

    def layout(self) -> dict[str, Any]:
        """The layout checks: the game fills the viewport, no text under 14 px, nothing outside it or scrolling."""
        found: dict[str, Any] = self.page.evaluate(_LAYOUT_JS)
        vw, vh = found["vw"], found["vh"]
        assert found["game"] == [vw, vh], found
        assert found["board"][0] * found["board"][1] >= 0.45 * vw * vh, found  # the mechanic has most of it
        assert found["small"] == [], found["small"]
        assert found["outside"] == [], found["outside"]
        assert found["scroll"] == [vw, vh], found
        return found

    def shot(self, name: str, selector: str | None = None) -> Path:
        """A screenshot under tests/artifacts/browser: the whole screen, or one element at CSS pixels."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        if selector:
            self.page.locator(selector).screenshot(path=str(path), scale="css")
        else:
            self.page.screenshot(path=str(path), scale="css")
        return path

    def close(self) -> None:
        assert self.errors == []
        # Everything came from the unpacked folder: no server, nothing from the network.
        folder = self.played.folder.resolve().as_uri() + "/"
        assert self.urls and all(u.startswith(folder) for u in self.urls), self.urls
        self.context.close()


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_plays_to_lose_replay_and_win_filling_the_screen(
    games: dict[str, Played], kind: str, viewport: str
) -> None:
    played = games[kind]
    config = played.config
    assert config["kind"] == kind
    tries = config["rules"]["tries"]
    wrong = [b["id"] for b in config["buttons"] if b["outcome"] == "lose"]
    assert 1 <= tries <= len(wrong), "the game must be losable: fewer tries than choices"
    with chromium() as browser:
        view = Page(browser, played, viewport)
        page = view.page
        name = f"{kind}-{viewport}"

        # The intro: its video over the game, the game waiting; every text readable.
        assert (view.attr("data-state"), view.attr("data-tries-left")) == ("playing", str(tries))
        assert view.attr("data-kind") == kind and page.locator("#game").count() == 1
        assert view.shows_image("#intro-video")
        view.layout()
        view.shot(f"{name}-intro")
        view.start()
        page.wait_for_function("!document.getElementById('bgm').paused")

        # One choice per button of the config, labelled as configured.
        for spec in config["buttons"]:
            assert page.get_attribute(f'.choice[data-button-id="{spec["id"]}"]', "aria-label") == spec["label"]
        playing = view.layout()
        view.shot(name)

        # Wrong choices until the tries run out: the lose state and its video.
        for used, button_id in enumerate(wrong[:tries], start=1):
            assert view.attr("data-state") == "playing"
            view.choose(button_id)
            assert view.attr("data-tries-left") == str(tries - used)
        assert view.attr("data-state") == "lost"
        assert view.shows_image("#lose-video") and not page.is_visible("#win-video")
        assert page.inner_text("#result") == config["messages"]["lose"]
        assert page.is_visible("#replay") and page.locator(".choice:enabled").count() == 0
        assert view.layout()["board"] == playing["board"]  # no jump between states
        view.shot(f"{name}-lost")

        # Replay starts over with every try back.
        page.click("#replay")
        assert (view.attr("data-state"), view.attr("data-tries-left")) == ("playing", str(tries))
        assert not page.is_visible("#lose-video")
        assert page.locator(".choice:enabled").count() == len(config["buttons"])

        # The winning choice wins: the tries counter gives way to the prize (and the call to action, if any).
        view.choose(config["winningButton"])
        assert view.attr("data-state") == "won"
        assert view.shows_image("#win-video") and not page.is_visible("#lose-video")
        assert page.inner_text("#result") == config["messages"]["win"]
        assert not page.is_visible("#tries") and page.is_visible("#prize")
        assert page.inner_text("#prize-name") == f"\N{WRAPPED PRESENT} {config['prize']}"
        if "cta" in config:
            assert page.get_attribute("#cta", "href") == config["cta"]["url"]
            assert page.get_attribute("#cta", "target") == "_blank" and page.is_visible("#cta")
        assert view.layout()["board"] == playing["board"]
        view.shot(f"{name}-won")
        view.close()


def test_the_summer_wheel_wins_on_red_and_the_quiz_offers_its_call_to_action(summer: Played, quiz: Played) -> None:
    assert next(b["label"] for b in summer.config["buttons"] if b["id"] == summer.config["winningButton"]) == "Red"
    assert summer.config["messages"]["win"] == "You won the summer discount!"
    assert [b["label"] for b in quiz.config["buttons"]] == ["Lemon", "Berry", "Mango"]
    assert quiz.config["question"] == "Sports drink quiz: which flavour keeps you going?"
    assert quiz.config["cta"] == CTA


def test_a_wheel_segment_tapped_spins_the_wheel_to_it(summer: Played) -> None:
    config = summer.config
    wrong = next(b["id"] for b in config["buttons"] if b["outcome"] == "lose")
    with chromium() as browser:
        view = Page(browser, summer, "phone")
        view.start()
        label = view.page.locator(f'.segment[data-segment="{wrong}"] text').bounding_box()
        assert label is not None
        before = (view.attr("data-state"), view.attr("data-tries-left"))
        view.page.mouse.click(label["x"] + label["width"] / 2, label["y"] + label["height"] / 2)
        view.settled(before)
        assert view.attr("data-tries-left") == str(config["rules"]["tries"] - 1)
        # The wheel came to rest with the tapped segment under the pointer at the top.
        index = [b["id"] for b in config["buttons"]].index(wrong)
        turned = view.page.evaluate("new DOMMatrix(getComputedStyle(document.getElementById('rotor')).transform)")
        angle = (math.degrees(math.atan2(turned["b"], turned["a"])) + 360) % 360
        middle = (index + 0.5) * 360 / len(config["buttons"])
        assert abs(((angle + middle) % 360 + 180) % 360 - 180) < 1, (angle, middle)
        assert view.page.get_attribute(f'.segment[data-segment="{wrong}"]', "class") == "segment tried"
        view.close()


def test_a_scratch_card_is_scratched_with_the_mouse_until_it_reveals(scratch: Played) -> None:
    config = scratch.config
    wrong = next(b["id"] for b in config["buttons"] if b["outcome"] == "lose")
    with chromium() as browser:
        view = Page(browser, scratch, "desktop")
        view.start()
        box = view.page.locator(f'.choice[data-button-id="{wrong}"] canvas').bounding_box()
        assert box is not None
        mouse = view.page.mouse
        # A short stroke reveals nothing yet: the panel is still in play.
        mouse.move(box["x"] + 10, box["y"] + 10)
        mouse.down()
        mouse.move(box["x"] + 40, box["y"] + 12, steps=4)
        mouse.up()
        assert view.attr("data-tries-left") == str(config["rules"]["tries"])
        # Zig-zag over the whole panel: more than half scratched reveals it, and it counts once.
        before = (view.attr("data-state"), view.attr("data-tries-left"))
        mouse.move(box["x"] + 4, box["y"] + 4)
        mouse.down()
        rows = 8
        for row in range(rows + 1):
            y = box["y"] + 4 + (box["height"] - 8) * row / rows
            mouse.move(box["x"] + (box["width"] - 4 if row % 2 == 0 else 4), y, steps=6)
        mouse.up()
        view.settled(before)
        assert view.attr("data-tries-left") == str(config["rules"]["tries"] - 1)
        assert "open" in (view.page.get_attribute(f'.choice[data-button-id="{wrong}"]', "class") or "")
        view.close()


def test_two_briefs_make_games_that_look_different(summer: Played, halloween: Played) -> None:
    shots = []
    with chromium() as browser:
        for played, name in ((summer, "summer"), (halloween, "halloween")):
            view = Page(browser, played)
            view.start()
            shots.append(Image.open(view.shot(f"brief-{name}", "#game")).convert("RGB"))
            view.close()
    assert halloween.config["title"] == "Halloween Treasure Hunt"
    # The mean per-channel difference of the two games: 0 is identical, a palette swap is tens.
    assert shots[0].size == shots[1].size
    difference = sum(ImageStat.Stat(ImageChops.difference(*shots)).mean) / 3
    assert difference > 20, difference


def test_a_german_brief_keeps_its_umlauts_and_emoji_in_labels_title_and_page(tmp_path: Path) -> None:
    labels = ["Glück 🍀", "Müller", "Überraschung"]
    played = _run(tmp_path, {"brief": GERMAN, "steps": {"plan": {"buttons": labels}}})
    assert played.config["title"] == "Backfreude 🥨 bei Müller"
    assert [b["label"] for b in played.config["buttons"]] == labels
    assert [b["id"] for b in played.config["buttons"]] == ["gluck", "muller", "uberraschung"]
    with chromium() as browser:
        view = Page(browser, played)
        view.start()
        assert view.page.inner_text("#title") == "Backfreude 🥨 bei Müller"
        assert [view.page.inner_text(f'.choice[data-button-id="{b["id"]}"]') for b in played.config["buttons"]] == [
            *labels
        ]
        view.layout()
        view.shot("german-phone")
        view.close()
