"""A whole campaign's game bundle, from the default generators: the game the plan describes, with its media."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import zipfile
from typing import Any

import pytest

from context.models import CampaignContext
from context.service import CampaignContextService
from pipeline.executor import StepExecutor
from pipeline.graph import StepGraph
from pipeline.store import LocalArtifactStore
from tests.pipeline.test_brief import HALLOWEEN, SUMMER
from tests.pipeline.workflows import fresh_context, run_steps


def _read(ctx: CampaignContext, store: LocalArtifactStore, ref: str) -> bytes:
    art = ctx.artifacts[ctx.refs[ref]]
    return store.read(art.uri, art.hash)


@pytest.fixture
def campaigns(
    executor: StepExecutor, graph: StepGraph, service: CampaignContextService, store: LocalArtifactStore
) -> dict[str, tuple[CampaignContext, dict[str, bytes]]]:
    out = {}
    for name, brief in (("summer", SUMMER), ("halloween", HALLOWEEN)):
        ctx, _ = run_steps(executor, graph, fresh_context(service, {"brief": brief}))
        with zipfile.ZipFile(io.BytesIO(_read(ctx, store, "gameBundleArtifactId"))) as zf:
            out[name] = (ctx, {n: zf.read(n) for n in zf.namelist()})
    return out


def test_the_bundle_plays_the_plan_winner_tries_and_outcome_videos(
    campaigns: dict[str, tuple[CampaignContext, dict[str, bytes]]], store: LocalArtifactStore
) -> None:
    ctx, files = campaigns["summer"]
    plan: dict[str, Any] = json.loads(_read(ctx, store, "planArtifactId"))
    config = json.loads(files["config.json"])

    winner = next(b["label"] for b in plan["buttons"] if b["outcome"] == "win")
    assert next(b["label"] for b in config["buttons"] if b["id"] == config["winningButton"]) == winner
    assert config["rules"]["tries"] == plan["tries"] == 2
    assert config["messages"]["win"] == "You won the summer discount!"
    assert files["win_video.gif"] == _read(ctx, store, "outcomeWinVideoArtifactId")
    assert files["lose_video.gif"] == _read(ctx, store, "outcomeLoseVideoArtifactId")
    assert files["intro_video.gif"] == _read(ctx, store, "introVideoArtifactId")
    manifest = json.loads(files.pop("manifest.json"))
    assert {n: m["sha256"] for n, m in manifest["files"].items()} == {
        n: hashlib.sha256(d).hexdigest() for n, d in files.items()
    }
    page = files["index.html"].decode()
    for button in config["buttons"]:
        assert f'data-button-id="{button["id"]}"' in page


def test_two_briefs_make_games_that_differ_in_every_visible_part(
    campaigns: dict[str, tuple[CampaignContext, dict[str, bytes]]],
) -> None:
    (_, summer), (_, spooky) = campaigns["summer"], campaigns["halloween"]
    for name in ("intro.png", "intro_video.gif", "win_video.gif", "lose_video.gif", "bgm.wav", "index.html"):
        assert summer[name] != spooky[name], name
    labels = [[b["label"] for b in json.loads(f["config.json"])["buttons"]] for f in (summer, spooky)]
    assert labels == [["Red", "Gold", "Blue"], ["Gold chest", "Iron chest", "Oak chest"]]
    kinds = [json.loads(f["config.json"])["kind"] for f in (summer, spooky)]
    assert kinds == ["wheel", "chests"]
    assert (
        'data-kind="wheel"' in summer["index.html"].decode() and 'data-kind="chests"' in spooky["index.html"].decode()
    )


def test_game_config_params_override_the_plan_tries_and_texts(
    executor: StepExecutor, graph: StepGraph, service: CampaignContextService, store: LocalArtifactStore
) -> None:
    payload = {"brief": SUMMER, "steps": {"game_config": {"tries": 1, "win_text": "Yes!", "lose_text": "No."}}}
    only = {"plan", "intro_image", "button_segmentation", "bgm", "sfx", "audio_manifest", "game_config"}
    ctx, _ = run_steps(executor, graph, fresh_context(service, payload), only=only)
    config = json.loads(_read(ctx, store, "gameConfigArtifactId"))
    assert config["rules"] == {"tries": 1}
    assert config["messages"] == {"win": "Yes!", "lose": "No."}


def test_a_run_without_brand_images_hashes_its_steps_as_before(
    executor: StepExecutor, graph: StepGraph, service: CampaignContextService
) -> None:
    # Optional reads that the run does not have are not part of the input hash: runs made before brand images
    # existed are reused by an update, not re-executed.
    ctx, _ = run_steps(executor, graph, fresh_context(service, {"brief": SUMMER}), only={"plan"})
    spec = graph["intro_image"]
    assert spec.optional_reads == ("brand_logo",)
    without = dataclasses.replace(spec, optional_reads=())
    assert executor.input_hash(ctx, spec)[0] == executor.input_hash(ctx, without)[0]
