"""The brand's own images as inputs of a run: a logo and a product image, artifacts of the run like any other.

A caller uploads the bytes to the artifact store and names them in the run request (`"assets": {"logo": {"uri",
"hash"}}`; the CLI's `--asset logo=FILE` does both). The run's starting context holds each as an artifact of type
`brand_logo` / `brand_product` (ref `brandLogoArtifactId` / `brandProductArtifactId`, step id "request"), so the
steps that read them (`OPTIONAL_READS`) hash them into their input hash: an update that changes only the logo
re-executes those steps and what their new outputs feed, and reuses the rest.

What a brand image must be (`check_image`: PNG, JPEG or GIF, its size and dimensions) is checked where its bytes
are: by the CLI before it uploads; by `validate_request` when it is given the store (the client's and the start
task's), which refuses the request naming `assets.<role>`; by the start (`prepare_run`), which records the checks in
`computed.qualityChecks` like those of any artifact; and again by every step that reads it.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Mapping
from typing import Annotated, Literal

from PIL import Image, UnidentifiedImageError
from pydantic import BaseModel, ConfigDict, Field

from context.models import ArtifactData, CampaignContext, ComputedData, QualityCheckResult, QualityStatus, utc_now_iso
from context.registry import ref_name_for
from context.service import drop_artifact
from pipeline.errors import PipelineError, Problem
from pipeline.media.formats import sniff
from pipeline.quality import check_artifact
from pipeline.store import ArtifactStore

AssetRole = Literal["logo", "product"]
ASSET_TYPES: dict[str, str] = {"logo": "brand_logo", "product": "brand_product"}
# The steps that read each brand image when the run has it: the intro draws the logo, the page shows both.
OPTIONAL_READS: dict[str, tuple[str, ...]] = {
    "intro_image": ("brand_logo",),
    "game_bundle": ("brand_logo", "brand_product"),
}
ASSET_STEP_ID = "request"
IMAGE_FORMATS = ("png", "jpeg", "gif")
MAX_ASSET_BYTES = 5 * 1024 * 1024
MIN_SIDE, MAX_SIDE = 16, 4096
_MEDIA_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "gif": "image/gif"}
_ASSET_NAMESPACE = uuid.UUID("5d3c8a52-7f0e-4b8e-9d55-3f3b1f6f2a10")


class AssetRef(BaseModel):
    """An object the caller put in the artifact store: its URI and sha256."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    uri: Annotated[str, Field(min_length=1, max_length=2048)]
    hash: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


def check_image(data: bytes, *, role: str) -> dict[str, int | str]:
    """The image's format, bytes, width and height; ValueError naming `role` when it is no usable brand image."""
    if len(data) > MAX_ASSET_BYTES:
        raise ValueError(f"{role}: {len(data)} bytes, more than the {MAX_ASSET_BYTES} allowed")
    fmt = sniff(data)
    if fmt not in IMAGE_FORMATS:
        raise ValueError(f"{role}: expected a PNG, JPEG or GIF image, got {fmt or 'unrecognised data'}")
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            width, height = img.size
    except (UnidentifiedImageError, OSError) as e:
        raise ValueError(f"{role}: the {fmt.upper()} image does not decode: {e}") from e
    if not (MIN_SIDE <= width <= MAX_SIDE and MIN_SIDE <= height <= MAX_SIDE):
        raise ValueError(f"{role}: {width}x{height} pixels; each side must be {MIN_SIDE} to {MAX_SIDE}")
    return {"format": fmt, "mediaType": _MEDIA_TYPES[fmt], "bytes": len(data), "width": width, "height": height}


def attach_assets(ctx: CampaignContext, assets: Mapping[AssetRole, AssetRef]) -> CampaignContext:
    """`ctx` with each asset as an artifact under its ref (replacing the base run's on an update)."""
    if not assets:
        return ctx
    ctx = ctx.model_copy(deep=True)
    for role, ref in sorted(assets.items()):
        artifact_type = ASSET_TYPES[role]
        ref_name = ref_name_for(artifact_type)
        old = ctx.refs.get(ref_name)
        if old is not None:
            drop_artifact(ctx, old)  # the base run's image, and its quality checks
        # Deterministic per (run, role): a redelivered start builds the same context.
        artifact_id = str(uuid.uuid5(_ASSET_NAMESPACE, f"{ctx.run_id}/{role}"))
        ctx.artifacts[artifact_id] = ArtifactData(
            type=artifact_type,
            uri=ref.uri,
            hash=ref.hash,
            metadata={"role": role},
            created_at=utc_now_iso(),
            step_id=ASSET_STEP_ID,
        )
        ctx.refs[ref_name] = artifact_id
    return ctx


def asset_problems(assets: Mapping[AssetRole, AssetRef], store: ArtifactStore) -> list[Problem]:
    """Why each named asset is not a usable brand image in `store` (not there, other bytes, not an image)."""
    problems = []
    for role, ref in sorted(assets.items()):
        try:
            check_image(store.read(ref.uri, ref.hash), role=role)
        except (PipelineError, ValueError) as e:
            problems.append(Problem(f"assets.{role}", str(e)))
    return problems


def record_asset_checks(ctx: CampaignContext, assets: Mapping[AssetRole, AssetRef], store: ArtifactStore) -> None:
    """Add the quality checks of the request's brand images to `ctx` (in place), as a step's artifacts get theirs:
    integrity, size and format from pipeline.quality, and their dimensions."""
    checks: list[QualityCheckResult] = []
    for role in sorted(assets):
        artifact_id = ctx.refs[ref_name_for(ASSET_TYPES[role])]
        artifact = ctx.artifacts[artifact_id]
        data = store.read(artifact.uri, artifact.hash)
        checks.extend(check_artifact(artifact_id, artifact, data, IMAGE_FORMATS))
        found = check_image(data, role=role)
        checks.append(
            QualityCheckResult(
                artifact_id=artifact_id,
                check_type="dimensions",
                status=QualityStatus.PASSED,
                message=f"{found['width']}x{found['height']} pixels",
                timestamp=utc_now_iso(),
                details={"width": found["width"], "height": found["height"]},
            )
        )
        artifact.metadata = {**(artifact.metadata or {}), **found}
    if ctx.computed is None:
        ctx.computed = ComputedData(input_hashes_by_step={}, quality_checks=[])
    ctx.computed.quality_checks.extend(checks)
