"""Brand images as inputs: `--asset logo=FILE --asset product=FILE` on demo, run and update, as artifacts of the run
that the intro and the page use; an update that changes only the logo executes only what it feeds."""

from __future__ import annotations

import hashlib
import io
import json
import re
import subprocess
import uuid
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from context.registry import ReferenceTypeRegistry
from context.service import CampaignContextService
from pipeline.brand import AssetRef
from pipeline.errors import RequestInvalidError
from pipeline.graph import StepGraph
from pipeline.launch import RunRequest, validate_request
from pipeline.steps import default_steps
from pipeline.store import LocalArtifactStore
from tests.cli.test_cli import UUID_RE, campaign
from tests.cli.test_play import Page, Played, chromium
from tests.conftest import REPO_CONFIG

# The steps that read the logo (intro_image, game_bundle), what the new intro image feeds (intro_video,
# button_segmentation, which names the image's hash, then game_config, which makes the same bytes as before), and
# the manifest of it all.
LOGO_CHANGES = {"intro_image", "intro_video", "button_segmentation", "game_config", "game_bundle", "campaign_manifest"}


def _image(path: Path, color: tuple[int, int, int], size: tuple[int, int], fmt: str) -> bytes:
    img = Image.new("RGB", size, (255, 255, 255))
    ImageDraw.Draw(img).ellipse((4, 4, size[0] - 4, size[1] - 4), fill=color)
    out = io.BytesIO()
    img.save(out, format=fmt)
    path.write_bytes(out.getvalue())
    return out.getvalue()


def _run_id(proc: subprocess.CompletedProcess[str]) -> str:
    match = re.search(rf"run id: ({UUID_RE})", proc.stdout)
    assert proc.returncode == 0 and match, proc.stdout + proc.stderr
    return match.group(1)


def _outcomes(proc: subprocess.CompletedProcess[str]) -> dict[str, str]:
    return dict(re.findall(r"^[│|] (\w+)\s+[│|] (executed|reused)\b", proc.stdout, re.M))


@pytest.fixture(scope="module")
def branded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, bytes, bytes]:
    cwd = tmp_path_factory.mktemp("brand")
    logo = _image(cwd / "logo.png", (220, 30, 60), (240, 120), "PNG")
    product = _image(cwd / "shot.jpg", (30, 120, 220), (300, 300), "JPEG")
    run_id = _run_id(campaign("demo", "--asset", "logo=logo.png", "--asset", "product=shot.jpg", cwd=cwd))
    return cwd, run_id, logo, product


def test_the_brand_images_are_artifacts_of_the_run_in_the_bundle_and_on_the_page(
    branded: tuple[Path, str, bytes, bytes],
) -> None:
    cwd, run_id, logo, product = branded
    shown = campaign("show", run_id, "--json", cwd=cwd)
    ctx = json.loads(shown.stdout)
    for ref, data, artifact_type in (
        ("brandLogoArtifactId", logo, "brand_logo"),
        ("brandProductArtifactId", product, "brand_product"),
    ):
        art = ctx["artifacts"][ctx["refs"][ref]]
        assert (art["type"], art["hash"], art["stepId"]) == (artifact_type, hashlib.sha256(data).hexdigest(), "request")
        checks = {
            q["checkType"]: q["status"] for q in ctx["computed"]["qualityChecks"] if q["artifactId"] == ctx["refs"][ref]
        }
        assert checks == {"integrity": "passed", "size": "passed", "format": "passed", "dimensions": "passed"}
    # The intro image's input hash covers the logo: its bytes are part of what it read.
    assert campaign("verify", run_id, cwd=cwd).returncode == 0

    assert campaign("open", run_id, "--to", "game", "--no-browser", cwd=cwd).returncode == 0
    assert (cwd / "game" / "logo.png").read_bytes() == logo  # the exact bytes
    assert (cwd / "game" / "product.jpeg").read_bytes() == product
    page = (cwd / "game" / "index.html").read_text()
    assert '<img id="logo" src="logo.png" alt="Logo">' in page
    assert '<img id="product" src="product.jpeg" alt="Prize">' in page
    # The logo is drawn at the left of the intro's title band: red where the plain intro has none.
    intro = Image.open(cwd / "game" / "intro.png").convert("RGB")
    band = intro.crop((0, 0, 80, 72))
    assert any(r > 180 and g < 80 and b < 100 for r, g, b in band.get_flattened_data())


def test_an_update_changing_only_the_logo_executes_only_what_it_feeds(
    branded: tuple[Path, str, bytes, bytes],
) -> None:
    cwd, run_id, _, product = branded
    new_logo = _image(cwd / "new.png", (20, 160, 60), (200, 200), "PNG")

    proc = campaign("update", "--from", run_id, "--asset", "logo=new.png", cwd=cwd)

    updated = _run_id(proc)
    outcomes = _outcomes(proc)
    assert len(outcomes) == 12, proc.stdout
    assert {step for step, outcome in outcomes.items() if outcome == "executed"} == LOGO_CHANGES
    assert campaign("open", updated, "--to", "game2", "--no-browser", cwd=cwd).returncode == 0
    assert (cwd / "game2" / "logo.png").read_bytes() == new_logo
    assert (cwd / "game2" / "product.jpeg").read_bytes() == product  # carried over from the base run


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("logo=missing.png", "--asset logo: cannot read missing.png: No such file or directory"),
        ("logo=notes.txt", "--asset logo: expected a PNG, JPEG or GIF image, got unrecognised data (notes.txt)"),
        ("logo=tiny.png", "--asset logo: 8x8 pixels; each side must be 16 to 4096 (tiny.png)"),
        ("banner=notes.txt", "--asset banner=notes.txt: unknown role 'banner'; roles: logo, product"),
    ],
)
def test_a_bad_asset_is_refused_with_exit_2_before_anything_runs(tmp_path: Path, option: str, message: str) -> None:
    (tmp_path / "notes.txt").write_text("not an image")
    _image(tmp_path / "tiny.png", (0, 0, 0), (8, 8), "PNG")
    proc = campaign("demo", "--asset", option, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"error: {message}"
    assert not (tmp_path / "var").exists()


def test_the_branded_game_shows_its_logo_and_the_product_with_the_prize(
    branded: tuple[Path, str, bytes, bytes],
) -> None:
    cwd, run_id, _, _ = branded
    folder = cwd / "game-browser"
    assert campaign("open", run_id, "--to", str(folder), "--no-browser", cwd=cwd).returncode == 0
    played = Played(cwd, run_id, folder, json.loads((folder / "config.json").read_text()))
    with chromium() as browser:
        for viewport in ("phone", "desktop"):
            view = Page(browser, played, viewport)
            view.start()
            assert view.shows_image("#logo") and not view.page.is_visible("#product")
            view.layout()
            view.choose(played.config["winningButton"])
            assert view.attr("data-state") == "won" and view.shows_image("#product")
            view.layout()
            view.shot(f"brand-{viewport}-won")
            view.close()


def test_a_request_naming_an_asset_the_store_does_not_hold_as_an_image_is_refused(tmp_path: Path) -> None:
    # What a Python or Celery client sends: references to objects it put in the store itself.
    store = LocalArtifactStore(tmp_path / "artifacts")
    text = store.put(b"not an image", ".txt")
    logo = store.put(_image(tmp_path / "logo.png", (1, 2, 3), (64, 64), "PNG"), ".png")
    missing = AssetRef(uri=logo.uri.replace(logo.hash, "0" * 64), hash="0" * 64)
    service = CampaignContextService(ReferenceTypeRegistry.from_config(REPO_CONFIG))
    graph = StepGraph(default_steps())

    def refusals(assets: dict[str, AssetRef]) -> dict[str, str]:
        request = RunRequest.model_validate({"tenantId": str(uuid.uuid4()), "assets": assets})
        try:
            validate_request(request, service=service, graph=graph, store=store)
        except RequestInvalidError as e:
            return {p.path: p.message for p in e.problems}
        return {}

    assert refusals({"logo": AssetRef(uri=logo.uri, hash=logo.hash)}) == {}
    found = refusals({"logo": AssetRef(uri=text.uri, hash=text.hash), "product": missing})
    assert found == {
        "assets.logo": "logo: expected a PNG, JPEG or GIF image, got unrecognised data",
        "assets.product": found["assets.product"],
    }
    assert "stored bytes are missing" in found["assets.product"]
