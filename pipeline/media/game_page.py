"""The game's page: one index.html with inline CSS and JS that plays the bundle's media from relative paths.

Everything it loads is a relative <img>/<video>/<audio> src, never fetch(): browsers refuse fetch() of file://
URLs, and the bundle must play straight from the unzipped folder.

Hooks the browser tests and the TypeScript side rely on (keep them stable):
- <html data-state="playing|won|lost" data-tries-left="N">
- every choice is a <button class="hotspot" data-button-id="ID">, ID from the game config
- #win-video / #lose-video (shown at the end), #replay, #start (the intro's play button), #result
"""

from __future__ import annotations

import html
from string import Template
from typing import Any

VIDEO_FORMATS = {"mp4": "video/mp4", "webm": "video/webm"}

_CSS = """
*{box-sizing:border-box}
html,body{margin:0}
body{min-height:100vh;display:flex;align-items:center;justify-content:center;background:var(--dark);
  color:#fff;font:16px/1.4 system-ui,sans-serif}
#game{width:min(100vw,960px);padding:8px}
#stage{position:relative;width:100%;overflow:hidden;border-radius:10px;box-shadow:0 6px 24px rgba(0,0,0,.45)}
#intro{display:block;width:100%;height:auto}
.hotspot{position:absolute;display:flex;align-items:center;justify-content:center;padding:0 4px;margin:0;
  border:2px solid var(--light);border-radius:4px;background:var(--dark);color:var(--light);cursor:pointer;
  font:700 clamp(11px,2.4vw,22px)/1.1 system-ui,sans-serif;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.hotspot:hover:not(:disabled),.hotspot:focus-visible{background:var(--accent);color:#fff;outline:none}
.hotspot[data-tried]{background:#3a3a3a;color:#9a9a9a;border-color:#6a6a6a;text-decoration:line-through}
.hotspot:disabled{cursor:default}
.overlay{position:absolute;inset:0;background:var(--dark)}
.overlay>img,.overlay>video{display:block;width:100%;height:100%;object-fit:cover}
#splash{cursor:pointer}
#start{position:absolute;left:50%;top:50%;transform:translate(-50%,-50%);padding:.5em 1.4em;border:0;
  border-radius:999px;background:var(--accent);color:#fff;font:700 clamp(16px,4vw,30px)/1.2 system-ui,sans-serif;
  box-shadow:0 4px 18px rgba(0,0,0,.5);cursor:pointer}
#hud{text-align:center;padding:10px 4px 0}
#tries{margin:0;opacity:.85}
#result{min-height:1.4em;margin:6px 0 0;font-size:clamp(18px,4.5vw,30px);font-weight:700}
#result.win{color:#8ac926}#result.lose{color:#ff8c8f}#result.miss{color:var(--light)}
#replay{margin:10px auto 0;padding:.5em 1.4em;border:2px solid var(--light);border-radius:999px;
  background:var(--accent);color:#fff;font:700 18px/1.2 system-ui,sans-serif;cursor:pointer}
[hidden]{display:none!important}
"""

_JS = """
(function () {
  "use strict";
  var root = document.documentElement;
  var config = JSON.parse(document.getElementById("game-config").textContent);
  var messages = config.messages || {};
  var defaults = {win: "You win!", lose: "No luck this time. Play again!"};
  var tries = Math.max(1, parseInt((config.rules || {}).tries, 10) || 1);
  var byId = {};
  (config.buttons || []).forEach(function (b, i) { byId[b.id !== undefined ? String(b.id) : String(i)] = b; });
  var $ = function (id) { return document.getElementById(id); };
  var bgm = $("bgm"), sfx = $("sfx"), splash = $("splash"), outcome = $("outcome"), result = $("result");
  var replay = $("replay"), triesLeft = $("tries-left");
  var videos = {win: $("win-video"), lose: $("lose-video")};
  var hotspots = Array.prototype.slice.call(document.querySelectorAll(".hotspot"));
  var segments = {};
  var stopTimer = null;
  var musicStarted = false;
  var left = tries;
  (config.sfx || []).forEach(function (s) {
    segments[s.name] = {start: s.start_ms !== undefined ? s.start_ms : s.startMs,
                        duration: s.duration_ms !== undefined ? s.duration_ms : s.durationMs};
  });
  bgm.volume = 0.5;
  function quiet(promise) { if (promise && promise.catch) { promise.catch(function () {}); } }
  function startMusic() {
    // Browsers refuse to play audio before the first user gesture, so the music waits for a click.
    if (musicStarted) { return; }
    musicStarted = true;
    quiet(bgm.play());
  }
  function playSfx(name) {
    var seg = segments[name];
    if (!seg) { return; }
    clearTimeout(stopTimer);
    sfx.currentTime = seg.start / 1000;
    quiet(sfx.play());
    stopTimer = setTimeout(function () { sfx.pause(); }, seg.duration);
  }
  function show(el) {
    el.hidden = false;
    if (el.tagName === "VIDEO") { el.currentTime = 0; quiet(el.play()); }
  }
  function hide(el) {
    el.hidden = true;
    if (el.tagName === "VIDEO") { el.pause(); }
  }
  function setTriesLeft(n) {
    left = n;
    root.setAttribute("data-tries-left", String(n));
    triesLeft.textContent = String(n);
  }
  function finish(kind) {
    root.setAttribute("data-state", kind === "win" ? "won" : "lost");
    result.textContent = messages[kind] || defaults[kind];
    result.className = kind;
    hotspots.forEach(function (b) { b.disabled = true; });
    outcome.hidden = false;
    show(videos[kind]);
    replay.hidden = false;
    playSfx(segments[kind] ? kind : "click");
  }
  function pick(button) {
    if (root.getAttribute("data-state") !== "playing") { return; }
    startMusic();
    var spec = byId[button.getAttribute("data-button-id")] || {};
    if (spec.outcome === "win") { finish("win"); return; }
    setTriesLeft(left - 1);
    button.disabled = true;
    button.setAttribute("data-tried", "true");
    if (left <= 0) { finish("lose"); return; }
    result.textContent = "Not this one. " + left + (left === 1 ? " try" : " tries") + " left.";
    result.className = "miss";
    playSfx("click");
  }
  function reset() {
    root.setAttribute("data-state", "playing");
    setTriesLeft(tries);
    result.textContent = "";
    result.className = "";
    hide(videos.win);
    hide(videos.lose);
    outcome.hidden = true;
    replay.hidden = true;
    hotspots.forEach(function (b) { b.disabled = false; b.removeAttribute("data-tried"); });
  }
  document.addEventListener("click", startMusic);
  splash.addEventListener("click", function () {
    hide(splash);
    startMusic();
    playSfx("click");
  });
  hotspots.forEach(function (b) {
    b.addEventListener("click", function (event) { event.stopPropagation(); pick(b); });
  });
  replay.addEventListener("click", function () { reset(); playSfx("click"); });
  reset();
  var introVideo = splash.querySelector("video");
  if (introVideo) { quiet(introVideo.play()); }
})();
"""

_PAGE = Template("""<!doctype html>
<html lang="en" data-state="playing" data-tries-left="$tries">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>$title</title>
<style>:root{--dark:$dark;--accent:$accent;--light:$light}$css</style>
</head>
<body>
<main id="game">
<div id="stage">
<img id="intro" src="$intro_image" width="$width" height="$height" alt="$title">
$buttons
<div id="outcome" class="overlay" hidden>
$win_video
$lose_video
</div>
<div id="splash" class="overlay">
$intro_video
<button id="start" type="button">&#9654; Play</button>
</div>
</div>
<div id="hud">
<p id="tries">Tries left: <span id="tries-left">$tries</span></p>
<p id="result" role="status" aria-live="polite"></p>
<button id="replay" type="button" hidden>Play again</button>
</div>
</main>
<audio id="bgm" src="$bgm" loop preload="auto"></audio>
<audio id="sfx" src="$sfx" preload="auto"></audio>
<script type="application/json" id="game-config">$config</script>
<script>$js</script>
</body>
</html>
""")


def render_page(
    *,
    config_json: str,
    title: str,
    palette: tuple[str, str, str],
    tries: int,
    size: tuple[int, int],
    buttons: list[dict[str, Any]],
    files: dict[str, tuple[str, str]],
) -> str:
    """The page. `files` maps a role (intro_image, intro_video, win_video, lose_video, bgm, sfx) to (file name,
    format); `buttons` are {"id", "label", "x", "y", "width", "height"} in the intro image's pixels."""
    width, height = size
    return _PAGE.substitute(
        title=html.escape(title),
        dark=palette[0],
        accent=palette[1],
        light=palette[2],
        css=_CSS.strip(),
        tries=tries,
        intro_image=html.escape(files["intro_image"][0]),
        width=width,
        height=height,
        buttons="\n".join(_hotspot(b, width, height) for b in buttons),
        intro_video=_media("intro-video", *files["intro_video"], alt="Intro", hidden=False),
        win_video=_media("win-video", *files["win_video"], alt="You win", hidden=True),
        lose_video=_media("lose-video", *files["lose_video"], alt="You lose", hidden=True),
        bgm=html.escape(files["bgm"][0]),
        sfx=html.escape(files["sfx"][0]),
        config=config_json,
        js=_JS.strip(),
    )


def _media(element_id: str, name: str, fmt: str, *, alt: str, hidden: bool) -> str:
    # GIFs (what the offline generators make) are images to a browser; real videos get a muted, inline <video>,
    # which phones autoplay without a gesture.
    hide = " hidden" if hidden else ""
    src = html.escape(name)
    if fmt in VIDEO_FORMATS:
        return f'<video id="{element_id}" src="{src}" muted loop playsinline preload="auto"{hide}></video>'
    return f'<img id="{element_id}" src="{src}" alt="{html.escape(alt)}"{hide}>'


def _hotspot(button: dict[str, Any], width: int, height: int) -> str:
    # Percentages of the image, so each button stays on its segmented region at whatever size the page shows it.
    style = (
        f"left:{100 * button['x'] / width:.4f}%;top:{100 * button['y'] / height:.4f}%;"
        f"width:{100 * button['width'] / width:.4f}%;height:{100 * button['height'] / height:.4f}%"
    )
    label = html.escape(button["label"])
    return (
        f'<button type="button" class="hotspot" data-button-id="{html.escape(button["id"])}" '
        f'style="{style}" title="{label}">{label}</button>'
    )
