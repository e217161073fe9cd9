"""The playable game bundle: a zip holding index.html (inline CSS and JS) beside the media it plays."""

from __future__ import annotations

import html
import io
import json
import zipfile
from string import Template
from typing import Any

from PIL import Image

from pipeline.media.formats import sniff

OUTCOMES = ("win", "lose")
# A fixed timestamp: the zip's bytes, and so its hash, depend only on what is in it.
ZIP_DATE_TIME = (2020, 1, 1, 0, 0, 0)
_DEFAULT_MESSAGES = {"win": "You win!", "lose": "Not this time. Try again!"}

_CSS = """
*{box-sizing:border-box}
body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;background:#111;
  color:#fff;font:16px/1.4 system-ui,sans-serif}
#game{width:min(100vw,960px);padding:8px}
#stage{position:relative;width:100%}
#stage img{display:block;width:100%;height:auto}
#splash{position:absolute;inset:0;height:100%!important;object-fit:cover;cursor:pointer}
.hotspot{position:absolute;background:transparent;border:0;padding:0;cursor:pointer;border-radius:4px}
.hotspot:hover,.hotspot:focus-visible{outline:3px solid #fff;outline-offset:2px}
.label{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
#result{min-height:1.4em;margin:12px 0 0;text-align:center;font-size:1.5em;font-weight:700}
#result.win{color:#8ac926}#result.lose{color:#ff595e}
#again{display:block;margin:8px auto 0}
[hidden]{display:none!important}
"""

_JS = """
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("game-config").textContent);
  var messages = config.messages || {};
  var defaults = {win: "You win!", lose: "Not this time. Try again!"};
  var bgm = new Audio("bgm.wav");
  var sfx = new Audio("sfx.wav");
  var segments = {};
  var stopTimer = null;
  var musicStarted = false;
  var splash = document.getElementById("splash");
  var result = document.getElementById("result");
  var again = document.getElementById("again");
  var hotspots = document.querySelectorAll(".hotspot");
  bgm.loop = true;
  bgm.volume = 0.5;
  (config.sfx || []).forEach(function (s) {
    segments[s.name] = {start: s.start_ms !== undefined ? s.start_ms : s.startMs,
                        duration: s.duration_ms !== undefined ? s.duration_ms : s.durationMs};
  });
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
  function finish(outcome) {
    result.textContent = messages[outcome] || defaults[outcome];
    result.className = outcome;
    again.hidden = false;
    hotspots.forEach(function (b) { b.disabled = true; });
    playSfx(segments[outcome] ? outcome : "click");
  }
  document.addEventListener("click", startMusic);
  if (splash) {
    splash.addEventListener("click", function () { splash.hidden = true; playSfx("click"); });
  }
  hotspots.forEach(function (b) {
    b.addEventListener("click", function (event) {
      event.stopPropagation();
      startMusic();
      finish(b.getAttribute("data-outcome"));
    });
  });
  again.addEventListener("click", function () {
    result.textContent = "";
    result.className = "";
    again.hidden = true;
    hotspots.forEach(function (b) { b.disabled = false; });
    playSfx("click");
  });
})();
"""

_PAGE = Template("""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>$title</title>
<style>$css</style>
</head>
<body>
<main id="game">
<div id="stage">
<img id="intro" src="intro.png" width="$width" height="$height" alt="$title">
$buttons
<img id="splash" src="intro.gif" alt="Tap to start">
</div>
<p id="result" role="status" aria-live="polite"></p>
<button id="again" type="button" hidden>Play again</button>
</main>
<script type="application/json" id="game-config">$config</script>
<script>$js</script>
</body>
</html>
""")


def build_game_zip(
    *, config: dict[str, Any], intro_png: bytes, intro_gif: bytes, bgm_wav: bytes, sfx_wav: bytes
) -> bytes:
    """A deterministic zip: index.html, config.json, intro.png, intro.gif, bgm.wav, sfx.wav.

    config["buttons"] is a list of {"x", "y", "width", "height", "label", "outcome"} in intro.png's pixels, outcome
    "win" or "lose". Optional: "title", "messages" ({"win": ..., "lose": ...}), and "sfx" (a sfx_layout, so clicks
    play the "click", "win" and "lose" segments of sfx.wav).
    """
    for param, data, kind in (
        ("intro_png", intro_png, "png"),
        ("intro_gif", intro_gif, "gif"),
        ("bgm_wav", bgm_wav, "wav"),
        ("sfx_wav", sfx_wav, "wav"),
    ):
        if sniff(data) != kind:
            raise ValueError(f"{param}: expected {kind} bytes, got {sniff(data) or 'unrecognised data'}")
    buttons = _check_buttons(config)
    try:
        config_json = json.dumps(config, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    except (TypeError, ValueError) as e:
        raise ValueError(f"config: not JSON-serialisable: {e}") from e
    with Image.open(io.BytesIO(intro_png)) as img:
        width, height = img.size
    page = _PAGE.substitute(
        title=html.escape(str(config.get("title") or "Campaign game")),
        css=_CSS.strip(),
        width=width,
        height=height,
        buttons="\n".join(_hotspot(i, b, width, height) for i, b in enumerate(buttons)),
        config=script_safe_json(config),
        js=_JS.strip(),
    )
    files = {
        "index.html": page.encode("utf-8"),
        "config.json": config_json.encode("utf-8"),
        "intro.png": intro_png,
        "intro.gif": intro_gif,
        "bgm.wav": bgm_wav,
        "sfx.wav": sfx_wav,
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # otherwise it records the building OS, and Windows and Linux bytes differ
            info.external_attr = 0o644 << 16
            zf.writestr(info, files[name], compresslevel=6)
    return out.getvalue()


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
    return buttons


def _hotspot(index: int, button: dict[str, Any], width: int, height: int) -> str:
    # Percentages of the image, so the hotspots stay on the drawn buttons at whatever size the page shows it.
    style = (
        f"left:{100 * button['x'] / width:.4f}%;top:{100 * button['y'] / height:.4f}%;"
        f"width:{100 * button['width'] / width:.4f}%;height:{100 * button['height'] / height:.4f}%"
    )
    label = html.escape(button["label"])
    return (
        f'<button type="button" class="hotspot" data-index="{index}" data-outcome="{button["outcome"]}" '
        f'style="{style}" title="{label}"><span class="label">{label}</span></button>'
    )
