"""Offline, deterministic media producers: the bytes the default step generators store as artifacts."""

from __future__ import annotations

from pipeline.media.animation import FRAME_MS, render_animation
from pipeline.media.audio import scale_for_mood, synth_bgm
from pipeline.media.formats import sniff
from pipeline.media.game import build_game_zip, script_safe_json
from pipeline.media.image import BUTTON_KEY_COLOR, button_layout, paint_buttons, render_intro_image
from pipeline.media.segmentation import segment_buttons
from pipeline.media.sfx import sfx_layout, synth_sfx

__all__ = [
    # Images
    "BUTTON_KEY_COLOR",
    "button_layout",
    "paint_buttons",
    "render_intro_image",
    "segment_buttons",
    # Animation
    "FRAME_MS",
    "render_animation",
    # Audio
    "scale_for_mood",
    "sfx_layout",
    "synth_bgm",
    "synth_sfx",
    # Game bundle
    "build_game_zip",
    "script_safe_json",
    # Formats
    "sniff",
]
