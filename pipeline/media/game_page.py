"""The game's page: one index.html with inline CSS and JS that plays the bundle's media from relative paths.

Four mechanics, chosen by the config's `kind`: a wheel that spins and stops on the chosen segment, boxes that
open, a scratch card (a canvas per panel, scratched with a finger or a mouse) and a quiz. Each also plays by a
tap or click on a choice (a wheel segment is chosen and spun to, a scratch panel revealed at once), for
keyboards, screen readers and tests. The layout fills the viewport, phone to desktop; the mechanics are drawn
in SVG and CSS (sharp at any size), and the GIFs are never shown larger than they were drawn.

Everything it loads is a relative <img>/<video>/<audio> src, never fetch(): browsers refuse fetch() of file://
URLs, and the bundle must play straight from the unzipped folder.

Hooks the browser tests and the TypeScript side rely on (keep them stable):
- <html data-state="playing|won|lost" data-tries-left="N" data-kind="wheel|chests|scratch|quiz">
- the game's root is #game; every choice is a <button class="choice" data-button-id="ID">, ID from the config
- #win-video / #lose-video (shown at the end), #replay, #start (the intro's play button), #result, #cta
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from string import Template
from typing import Any

VIDEO_FORMATS = {"mp4": "video/mp4", "webm": "video/webm"}
# What renders every script's letters and emoji: the system's fonts, then the emoji fonts, by name.
FONT_STACK = (
    'system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","DejaVu Sans",sans-serif,'
    '"Noto Color Emoji","Apple Color Emoji","Segoe UI Emoji"'
)


@dataclass(frozen=True)
class Media:
    """A file the page shows: its name in the bundle, its format, and its size in pixels when known."""

    name: str
    fmt: str
    size: tuple[int, int] | None = None


@dataclass(frozen=True)
class PageSpec:
    """What the page shows; `files` maps a role (intro_video, win_video, lose_video, bgm, sfx, logo, product)
    to its Media."""

    config_json: str
    title: str
    palette: tuple[str, str, str]
    tries: int
    kind: str
    buttons: list[dict[str, Any]]
    files: dict[str, Media]
    question: str = ""
    prize: str = ""
    cta: dict[str, str] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


_CSS = """
*{box-sizing:border-box}
html,body{margin:0;height:100%}
body{background:var(--dark);color:#fff;font:18px/1.35 $font;-webkit-text-size-adjust:100%;overflow:hidden}
#game{position:relative;display:grid;grid-template-rows:auto minmax(0,1fr) auto;width:100vw;height:100vh;
  height:100dvh;padding:max(12px,env(safe-area-inset-top)) 16px max(12px,env(safe-area-inset-bottom));
  background:radial-gradient(120% 80% at 50% 0%,var(--accent) 0%,var(--dark) 70%);overflow:hidden}
#top{display:flex;align-items:center;justify-content:center;gap:12px;min-height:48px;text-align:center}
#logo{max-height:clamp(32px,6vh,64px);max-width:28vw;object-fit:contain}
h1{margin:0;font-size:clamp(22px,5.6vw,44px);line-height:1.15;text-shadow:0 2px 8px rgba(0,0,0,.45);
  overflow-wrap:anywhere}
#board{position:relative;display:flex;flex-direction:column;align-items:center;justify-content:center;gap:16px;
  min-height:0;padding:8px 0}
.play{display:flex;flex-direction:column;align-items:center;justify-content:center;gap:16px;width:100%;
  height:100%}
#hud{display:flex;flex-direction:column;align-items:center;justify-content:flex-start;gap:8px;height:196px;
  text-align:center}
#tries{margin:0;font-size:18px;opacity:.9}
#result{min-height:1.4em;margin:0;font-size:clamp(20px,5vw,32px);font-weight:700;overflow-wrap:anywhere}
#result.win{color:#b8f36b}#result.lose{color:#ffb3b5}#result.miss{color:var(--light)}
#prize{display:flex;flex-wrap:wrap;align-items:center;justify-content:center;gap:8px 12px}
#prize-name{font-size:18px;font-weight:700}
#product{max-height:72px;max-width:96px;object-fit:contain;border-radius:8px;background:#fff}
.pill{display:inline-block;padding:14px 28px;border:0;border-radius:999px;background:var(--accent);color:#fff;
  font:700 20px/1.2 $font;text-decoration:none;cursor:pointer;box-shadow:0 4px 16px rgba(0,0,0,.35)}
#cta{background:#fff;color:var(--dark)}
#replay{background:transparent;border:2px solid var(--light);color:var(--light)}
.choice{font:700 clamp(16px,4.2vw,24px)/1.2 $font;color:var(--dark);cursor:pointer;overflow-wrap:anywhere}
.choice:disabled{cursor:default}
.choice:focus-visible{outline:3px solid #fff;outline-offset:3px}
.outcome-media{display:block;max-width:100%;max-height:100%;border-radius:14px;box-shadow:0 8px 30px rgba(0,0,0,.5)}
#outcome{position:absolute;inset:0;display:flex;align-items:center;justify-content:center}
#splash{position:absolute;inset:0;z-index:5;display:flex;flex-direction:column;align-items:center;
  justify-content:center;gap:24px;padding:24px;background:var(--dark);cursor:pointer;text-align:center}
#splash .outcome-media{max-height:50vh}
#start{font-size:clamp(22px,6vw,34px);padding:16px 44px}
/* wheel */
#wheel-box{position:relative;width:min(100%,calc(100dvh - 340px),560px);aspect-ratio:1;min-width:200px}
#wheel{width:100%;height:100%;display:block;filter:drop-shadow(0 8px 24px rgba(0,0,0,.45))}
#rotor{transition:transform 0s;transform-origin:0 0}
#rotor.spinning{transition:transform var(--spin-ms) cubic-bezier(.15,.7,.2,1)}
.segment text{font:700 11px $font;fill:var(--dark);pointer-events:none}
.segment path{stroke:var(--dark);stroke-width:1.2;cursor:pointer}
.segment.tried path{fill:#5a5a5a}.segment.tried text{fill:#cfcfcf}
.row{display:flex;flex-wrap:wrap;justify-content:center;gap:10px;width:min(100%,720px)}
.row .choice{flex:1 1 0;min-width:88px;min-height:52px;padding:10px 12px;border:0;border-radius:14px;
  background:var(--light);box-shadow:0 3px 10px rgba(0,0,0,.3)}
.row .choice[data-tried]{background:#5a5a5a;color:#d0d0d0;text-decoration:line-through}
/* chests */
.chests{display:grid;grid-template-columns:repeat(var(--n),minmax(0,1fr));gap:12px;width:min(100%,860px);
  align-items:end}
.chests .choice{display:flex;flex-direction:column;align-items:center;gap:8px;padding:10px 6px;border:0;
  justify-content:center;border-radius:16px;background:rgba(255,255,255,.12);color:#fff;min-height:min(34vh,320px)}
.chest{width:100%;max-width:220px;overflow:visible}
.chest .lid{transition:transform .45s ease;transform-origin:8px 40px}
.choice.open .lid{transform:rotate(-35deg) translate(-4px,-10px)}
.chest .inside{opacity:0;transition:opacity .3s}.choice.open .inside{opacity:1}
.chests .choice[data-tried]{opacity:.55}
/* scratch */
.cards{display:grid;grid-template-columns:repeat(var(--n),minmax(0,1fr));gap:12px;width:min(100%,860px)}
.cards .choice{position:relative;aspect-ratio:3/4;max-height:calc(100dvh - 360px);padding:0;border:0;
  border-radius:14px;overflow:hidden;background:var(--light);touch-action:none}
.reveal{position:absolute;inset:0;display:flex;flex-direction:column;align-items:center;justify-content:center;
  gap:4px;padding:8px;color:var(--dark)}
.reveal b{font-size:clamp(28px,8vw,56px)}
.cards canvas{position:absolute;inset:0;width:100%;height:100%;cursor:crosshair}
.cards .choice.open canvas{opacity:0;transition:opacity .3s;pointer-events:none}
.hint{margin:0;font-size:16px;opacity:.85}
/* quiz */
#question{margin:0;max-width:720px;font-size:clamp(20px,5vw,34px);font-weight:700;text-align:center;
  overflow-wrap:anywhere}
.answers{display:flex;flex-direction:column;gap:12px;width:min(100%,560px)}
.answers .choice{min-height:56px;padding:12px 18px;border:0;border-radius:14px;background:var(--light);
  text-align:left;box-shadow:0 3px 10px rgba(0,0,0,.3)}
.answers .choice[data-tried]{background:#7a2d33;color:#fff;text-decoration:line-through}
.answers .choice.right{background:#3f8f2f;color:#fff}
[hidden]{display:none!important}
@media (prefers-reduced-motion:reduce){#rotor.spinning,.chest .lid{transition:none}}
"""

_JS = """
(function () {
  "use strict";
  var root = document.documentElement;
  var config = JSON.parse(document.getElementById("game-config").textContent);
  var kind = root.getAttribute("data-kind");
  var messages = config.messages || {};
  var defaults = {win: "You win!", lose: "No luck this time. Play again!"};
  var tries = Math.max(1, parseInt((config.rules || {}).tries, 10) || 1);
  var byId = {};
  (config.buttons || []).forEach(function (b, i) { byId[b.id !== undefined ? String(b.id) : String(i)] = b; });
  var $ = function (id) { return document.getElementById(id); };
  var bgm = $("bgm"), sfx = $("sfx"), splash = $("splash"), outcome = $("outcome"), result = $("result");
  var replay = $("replay"), triesLeft = $("tries-left"), triesLine = $("tries"), prize = $("prize");
  var board = $("play");
  var videos = {win: $("win-video"), lose: $("lose-video")};
  var choices = Array.prototype.slice.call(document.querySelectorAll(".choice"));
  var reduced = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  var segments = {};
  var stopTimer = null, musicStarted = false, left = tries, busy = false, turned = 0;
  (config.sfx || []).forEach(function (s) {
    segments[s.name] = {start: s.start_ms !== undefined ? s.start_ms : s.startMs,
                        duration: s.duration_ms !== undefined ? s.duration_ms : s.durationMs};
  });
  bgm.volume = 0.5;
  function quiet(promise) { if (promise && promise.catch) { promise.catch(function () {}); } }
  function startMusic() {
    // Browsers refuse to play audio before the first user gesture, so the music waits for a tap.
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
  function buttonsFor(id) {
    return choices.filter(function (b) { return b.getAttribute("data-button-id") === id; });
  }
  function finish(end) {
    root.setAttribute("data-state", end === "win" ? "won" : "lost");
    result.textContent = messages[end] || defaults[end];
    result.className = end;
    choices.forEach(function (b) { b.disabled = true; });
    board.hidden = true;
    outcome.hidden = false;
    show(videos[end]);
    // After a win the tries counter gives way to the prize and its call to action.
    triesLine.hidden = end === "win";
    prize.hidden = end !== "win";
    replay.hidden = false;
    playSfx(segments[end] ? end : "click");
  }
  function settle(id) {
    busy = false;
    if (root.getAttribute("data-state") !== "playing") { return; }
    var spec = byId[id] || {};
    if (spec.outcome === "win") {
      buttonsFor(id).forEach(function (b) { b.classList.add("right"); });
      finish("win");
      return;
    }
    buttonsFor(id).forEach(function (b) { b.disabled = true; b.setAttribute("data-tried", "true"); });
    var seg = document.querySelector('.segment[data-segment="' + id + '"]');
    if (seg) { seg.classList.add("tried"); }
    setTriesLeft(left - 1);
    if (left <= 0) { finish("lose"); return; }
    result.textContent = "Not this one. " + left + (left === 1 ? " try" : " tries") + " left.";
    result.className = "miss";
    playSfx("click");
  }
  function later(ms, fn) { if (reduced || ms <= 0) { fn(); } else { setTimeout(fn, ms); } }
  // Each mechanic: how a chosen id is played out before it settles.
  var mechanics = {
    wheel: function (id) {
      var rotor = $("rotor"), n = config.buttons.length;
      var index = config.buttons.findIndex(function (b, i) { return String(b.id !== undefined ? b.id : i) === id; });
      var mid = (index + 0.5) * 360 / n;
      // Whole turns, then stop with the chosen segment under the pointer at the top.
      var target = turned + 4 * 360 + ((360 - mid - (turned % 360)) % 360 + 360) % 360;
      turned = target;
      var ms = reduced ? 0 : 2200;
      rotor.style.setProperty("--spin-ms", ms + "ms");
      rotor.classList.add("spinning");
      rotor.style.transform = "rotate(" + target + "deg)";
      playSfx("click");
      later(ms, function () { settle(id); });
    },
    chests: function (id, button) {
      button.classList.add("open");
      playSfx("click");
      later(500, function () { settle(id); });
    },
    scratch: function (id, button) { button.classList.add("open"); later(300, function () { settle(id); }); },
    quiz: function (id) { settle(id); }
  };
  function pick(id, button) {
    if (root.getAttribute("data-state") !== "playing" || busy) { return; }
    if (button && (button.disabled || button.hasAttribute("data-tried"))) { return; }
    startMusic();
    busy = true;
    (mechanics[kind] || mechanics.quiz)(id, button || buttonsFor(id)[0]);
  }
  function reset() {
    root.setAttribute("data-state", "playing");
    setTriesLeft(tries);
    busy = false;
    result.textContent = "";
    result.className = "";
    hide(videos.win);
    hide(videos.lose);
    outcome.hidden = true;
    board.hidden = false;
    replay.hidden = true;
    prize.hidden = true;
    triesLine.hidden = false;
    choices.forEach(function (b) {
      b.disabled = false;
      b.removeAttribute("data-tried");
      b.classList.remove("open", "right");
    });
    Array.prototype.forEach.call(document.querySelectorAll(".segment"), function (s) { s.classList.remove("tried"); });
    Array.prototype.forEach.call(document.querySelectorAll(".cards canvas"), paintFoil);
  }
  // Scratch cards: a foil canvas per panel at the device's pixel density; scratching erases it, and a panel
  // more than half scratched is revealed. A tap without scratching reveals it at once.
  function paintFoil(canvas) {
    var ratio = window.devicePixelRatio || 1, rect = canvas.getBoundingClientRect();
    canvas.width = Math.max(1, Math.round(rect.width * ratio));
    canvas.height = Math.max(1, Math.round(rect.height * ratio));
    var ctx = canvas.getContext("2d");
    ctx.globalCompositeOperation = "source-over";
    var grad = ctx.createLinearGradient(0, 0, canvas.width, canvas.height);
    grad.addColorStop(0, "#c9c9c9"); grad.addColorStop(0.5, "#f2f2f2"); grad.addColorStop(1, "#a9a9a9");
    ctx.fillStyle = grad;
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.fillStyle = "#6b6b6b";
    ctx.font = "700 " + Math.round(18 * ratio) + "px system-ui, sans-serif";
    ctx.textAlign = "center";
    ctx.fillText("Scratch", canvas.width / 2, canvas.height / 2);
    canvas.removeAttribute("data-moved");
  }
  function scratchedShare(canvas) {
    var data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data, clear = 0, seen = 0;
    for (var i = 3; i < data.length; i += 64) { seen++; if (data[i] === 0) { clear++; } }
    return seen ? clear / seen : 0;
  }
  Array.prototype.forEach.call(document.querySelectorAll(".cards .choice"), function (button) {
    var canvas = button.querySelector("canvas"), down = false, last = null;
    function at(event) {
      var rect = canvas.getBoundingClientRect();
      return {x: (event.clientX - rect.left) * canvas.width / rect.width,
              y: (event.clientY - rect.top) * canvas.height / rect.height};
    }
    canvas.addEventListener("pointerdown", function (event) {
      if (button.disabled || root.getAttribute("data-state") !== "playing" || busy) { return; }
      down = true; last = at(event); startMusic();
      canvas.removeAttribute("data-moved");
      if (canvas.setPointerCapture) { canvas.setPointerCapture(event.pointerId); }
    });
    canvas.addEventListener("pointermove", function (event) {
      if (!down) { return; }
      var p = at(event), ctx = canvas.getContext("2d");
      ctx.globalCompositeOperation = "destination-out";
      ctx.lineCap = "round";
      ctx.lineWidth = canvas.width / 5;
      ctx.beginPath(); ctx.moveTo(last.x, last.y); ctx.lineTo(p.x, p.y); ctx.stroke();
      if (Math.abs(p.x - last.x) + Math.abs(p.y - last.y) > 0) { canvas.setAttribute("data-moved", "true"); }
      last = p;
      if (scratchedShare(canvas) > 0.5) { down = false; pick(button.getAttribute("data-button-id"), button); }
    });
    ["pointerup", "pointercancel"].forEach(function (name) {
      canvas.addEventListener(name, function () { down = false; });
    });
  });
  document.addEventListener("click", startMusic);
  splash.addEventListener("click", function () {
    hide(splash);
    startMusic();
    playSfx("click");
    Array.prototype.forEach.call(document.querySelectorAll(".cards canvas"), paintFoil);
  });
  choices.forEach(function (b) {
    b.addEventListener("click", function (event) {
      event.stopPropagation();
      var canvas = b.querySelector("canvas");
      // The click that ends a scratching stroke is not a tap: scratching reveals by itself.
      if (canvas && canvas.hasAttribute("data-moved")) { return; }
      pick(b.getAttribute("data-button-id"), b);
    });
  });
  Array.prototype.forEach.call(document.querySelectorAll(".segment"), function (s) {
    s.addEventListener("click", function (event) {
      event.stopPropagation();
      var id = s.getAttribute("data-segment");
      if (!s.classList.contains("tried")) { pick(id, buttonsFor(id)[0]); }
    });
  });
  var spin = $("spin");
  if (spin) {
    spin.addEventListener("click", function (event) {
      // The spin button lets the wheel choose among the segments not tried yet.
      event.stopPropagation();
      var open = choices.filter(function (b) { return !b.disabled; });
      if (!open.length) { return; }
      var b = open[Math.floor(Math.random() * open.length)];
      pick(b.getAttribute("data-button-id"), b);
    });
  }
  window.addEventListener("resize", function () {
    Array.prototype.forEach.call(document.querySelectorAll(".cards .choice:not(.open) canvas"), paintFoil);
  });
  replay.addEventListener("click", function (event) { event.stopPropagation(); reset(); playSfx("click"); });
  reset();
  var introVideo = splash.querySelector("video");
  if (introVideo) { quiet(introVideo.play()); }
})();
"""

_PAGE = Template("""<!doctype html>
<html lang="$lang" data-state="playing" data-tries-left="$tries" data-kind="$kind">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover">
<title>$title</title>
<style>:root{--dark:$dark;--accent:$accent;--light:$light;--n:$count}$css</style>
</head>
<body>
<main id="game" class="kind-$kind">
<header id="top">$logo<h1 id="title">$title</h1></header>
<section id="board">
<div id="play" class="play">
$mechanic
</div>
<div id="outcome" hidden>
$win_video
$lose_video
</div>
</section>
<footer id="hud">
<p id="tries">Tries left: <span id="tries-left">$tries</span></p>
<p id="result" role="status" aria-live="polite"></p>
<div id="prize" hidden>$product$prize$cta</div>
<button id="replay" class="pill" type="button" hidden>Play again</button>
</footer>
<div id="splash">
<h1>$title</h1>
$intro_video
<button id="start" class="pill" type="button">&#9654; Play</button>
</div>
</main>
<audio id="bgm" src="$bgm" loop preload="auto"></audio>
<audio id="sfx" src="$sfx" preload="auto"></audio>
<script type="application/json" id="game-config">$config</script>
<script>$js</script>
</body>
</html>
""")


def render_page(spec: PageSpec) -> str:
    """The page for `spec`; the chosen mechanic's markup sits in #play, the outcome videos beside it."""
    files = spec.files
    css = Template(_CSS.strip()).substitute(font=FONT_STACK)
    logo = files.get("logo")
    product = files.get("product")
    return _PAGE.substitute(
        lang="en",
        title=html.escape(spec.title),
        dark=spec.palette[0],
        accent=spec.palette[1],
        light=spec.palette[2],
        count=len(spec.buttons),
        css=css,
        tries=spec.tries,
        kind=html.escape(spec.kind),
        logo=_image("logo", logo, alt="Logo") if logo else "",
        mechanic=_MECHANICS.get(spec.kind, _chests)(spec),
        intro_video=_media("intro-video", files["intro_video"], alt="Intro", hidden=False),
        win_video=_media("win-video", files["win_video"], alt="You win", hidden=True),
        lose_video=_media("lose-video", files["lose_video"], alt="You lose", hidden=True),
        product=_image("product", product, alt="Prize") if product else "",
        prize=f'<span id="prize-name">&#127873; {html.escape(spec.prize)}</span>' if spec.prize else "",
        cta=_cta(spec.cta),
        bgm=html.escape(files["bgm"].name),
        sfx=html.escape(files["sfx"].name),
        config=spec.config_json,
        js=_JS.strip(),
    )


def _choice(button: dict[str, Any], inner: str = "", extra_class: str = "") -> str:
    label = html.escape(button["label"])
    cls = f"choice {extra_class}".strip()
    return (
        f'<button type="button" class="{cls}" data-button-id="{html.escape(button["id"])}" aria-label="{label}">'
        f"{inner or label}</button>"
    )


def _wheel(spec: PageSpec) -> str:
    """An SVG wheel (viewBox -100..100) with one segment per choice, a pointer at the top, and a row of choices."""
    n = len(spec.buttons)
    colors = [spec.palette[2], spec.palette[1], "#ffffff"] if n % 3 != 1 else [spec.palette[2], spec.palette[1]]
    parts = []
    for i, button in enumerate(spec.buttons):
        a0, a1 = 2 * math.pi * i / n, 2 * math.pi * (i + 1) / n
        # Angles from the top, clockwise: x = sin, y = -cos.
        x0, y0, x1, y1 = 90 * math.sin(a0), -90 * math.cos(a0), 90 * math.sin(a1), -90 * math.cos(a1)
        large = 1 if a1 - a0 > math.pi else 0
        path = (
            f"M0 0L{x0:.3f} {y0:.3f}A90 90 0 {large} 1 {x1:.3f} {y1:.3f}Z"
            if n > 1
            else "M0 -90A90 90 0 1 1 0 90A90 90 0 1 1 0 -90Z"
        )
        mid = math.degrees((a0 + a1) / 2)
        # Along the spoke, read from the centre out on the right half and from the rim in on the left, so no
        # label is upside down.
        turn = f"rotate({mid - 90:.3f}) translate(52 0)" if mid <= 180 else f"rotate({mid + 90:.3f}) translate(-52 0)"
        fill = colors[i % len(colors)]
        label = html.escape(_short(button["label"], 12))
        parts.append(
            f'<g class="segment" data-segment="{html.escape(button["id"])}">'
            f'<path d="{path}" fill="{fill}"/>'
            f'<text transform="{turn}" text-anchor="middle" '
            f'dominant-baseline="middle">{label}</text></g>'
        )
    # Labels run along their segment's spoke, as on a real wheel.
    svg = (
        '<div id="wheel-box"><svg id="wheel" viewBox="-100 -100 200 200" role="img" aria-label="Wheel">'
        '<circle r="97" fill="var(--dark)" stroke="var(--light)" stroke-width="4"/>'
        f'<g id="rotor">{"".join(parts)}</g>'
        '<circle r="12" fill="var(--light)" stroke="var(--dark)" stroke-width="3"/>'
        '<path d="M-9 -104L9 -104L0 -84Z" fill="#fff" stroke="var(--dark)" stroke-width="2"/>'
        "</svg></div>"
    )
    row = "".join(_choice(b) for b in spec.buttons)
    return (
        f'{svg}<p class="hint">Tap a segment to spin to it, or spin.</p>'
        f'<div class="row">{row}<button id="spin" type="button" class="pill">Spin</button></div>'
    )


_CHEST_SVG = (
    '<svg class="chest" viewBox="0 0 120 100" aria-hidden="true">'
    '<g class="inside"><circle cx="60" cy="44" r="16" fill="{glow}"/></g>'
    '<rect x="8" y="44" width="104" height="52" rx="6" fill="{body}" stroke="#2b1a0e" stroke-width="3"/>'
    '<rect x="8" y="60" width="104" height="8" fill="#2b1a0e" opacity=".35"/>'
    '<rect x="52" y="52" width="16" height="20" rx="3" fill="#ffd166" stroke="#2b1a0e" stroke-width="2"/>'
    '<g class="lid"><path d="M8 44 Q8 12 60 12 Q112 12 112 44 Z" fill="{body}" stroke="#2b1a0e" '
    'stroke-width="3"/><rect x="8" y="38" width="104" height="8" fill="#2b1a0e" opacity=".35"/></g>'
    "</svg>"
)


def _chests(spec: PageSpec) -> str:
    cells = []
    for button in spec.buttons:
        glow = "#ffe066" if button.get("outcome") == "win" else "#444444"
        chest = _CHEST_SVG.format(body="#a0522d", glow=glow)
        cells.append(_choice(button, f'{chest}<span class="label">{html.escape(button["label"])}</span>'))
    return f'<p class="hint">Tap a box to open it.</p><div class="chests">{"".join(cells)}</div>'


def _scratch(spec: PageSpec) -> str:
    cells = []
    for button in spec.buttons:
        won = button.get("outcome") == "win"
        mark = "★" if won else "✕"
        text = html.escape(spec.prize or "Winner!") if won else "No luck"
        inner = (
            f'<span class="reveal"><b>{mark}</b><span>{text}</span><span>{html.escape(button["label"])}</span></span>'
            '<canvas aria-hidden="true"></canvas>'
        )
        cells.append(_choice(button, inner))
    return f'<p class="hint">Scratch a card with your finger, or tap it.</p><div class="cards">{"".join(cells)}</div>'


def _quiz(spec: PageSpec) -> str:
    answers = "".join(_choice(b) for b in spec.buttons)
    question = html.escape(spec.question or "Which one is right?")
    return f'<p id="question">{question}</p><div class="answers">{answers}</div>'


_MECHANICS = {"wheel": _wheel, "chests": _chests, "scratch": _scratch, "quiz": _quiz}


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _cta(cta: dict[str, str] | None) -> str:
    if not cta:
        return ""
    return (
        f'<a id="cta" class="pill" href="{html.escape(cta["url"])}" target="_blank" rel="noopener">'
        f"{html.escape(cta['label'])}</a>"
    )


def _image(element_id: str, media: Media, *, alt: str) -> str:
    return f'<img id="{element_id}" src="{html.escape(media.name)}" alt="{html.escape(alt)}">'


def _media(element_id: str, media: Media, *, alt: str, hidden: bool) -> str:
    # GIFs (what the offline generators make) are images to a browser; real videos get a muted, inline <video>,
    # which phones autoplay without a gesture. Never shown wider than drawn: a 320 px GIF stays sharp.
    hide = " hidden" if hidden else ""
    src = html.escape(media.name)
    size = f' style="width:{media.size[0]}px"' if media.size else ""
    if media.fmt in VIDEO_FORMATS:
        return (
            f'<video id="{element_id}" class="outcome-media" src="{src}" muted loop playsinline preload="auto"'
            f"{size}{hide}></video>"
        )
    return f'<img id="{element_id}" class="outcome-media" src="{src}" alt="{html.escape(alt)}"{size}{hide}>'
