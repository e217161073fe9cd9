"""/v1/runs/{id}/artifacts/{type}: the run's artifact of a type, as a presigned S3 link or the stored bytes."""

from __future__ import annotations

import mimetypes
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import FileResponse, RedirectResponse, Response

from api.auth import Tenant
from api.refusals import ApiRefusalError
from api.schemas import REFUSALS
from api.submission import existing
from pipeline.errors import Problem
from pipeline.store import LocalArtifactStore
from tasks.worker import resources

router = APIRouter(prefix="/v1/runs", tags=["artifacts"], responses=REFUSALS)

TypeName = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]{0,63}$", description="An artifact type, e.g. intro_image.")]


def artifact_of_type(context: dict[str, Any] | None, artifact_type: str) -> dict[str, Any] | None:
    """The live artifact (one a ref points at) of that type; the newest when several are."""
    ctx = context or {}
    artifacts = ctx.get("artifacts") or {}
    live = [artifacts[a] for a in (ctx.get("refs") or {}).values() if a in artifacts]
    matches = [a for a in live if isinstance(a, dict) and a.get("type") == artifact_type and a.get("uri")]
    return max(matches, key=lambda a: str(a.get("createdAt", ""))) if matches else None


@router.get(
    "/{run_id}/artifacts/{artifact_type}",
    response_class=Response,
    responses={200: {"description": "The bytes (local store)"}, 307: {"description": "A presigned link (S3)"}},
)
def get_artifact(
    run_id: uuid.UUID,
    artifact_type: TypeName,
    tenant: Tenant,
    expires: Annotated[int, Query(ge=1, le=604800, description="Seconds an S3 link stays valid.")] = 300,
) -> Response:
    """The artifact's bytes from the local store, or a redirect to a time-limited link on S3."""
    art = artifact_of_type(existing(run_id, tenant).run.context, artifact_type)
    if art is None:
        raise ApiRefusalError(404, "not_found", [Problem("type", f"run {run_id} has no {artifact_type} artifact")])
    store = resources().store
    if isinstance(store, LocalArtifactStore):
        path = store.path_of(str(art["uri"]))  # refuses a uri outside the store's root
        media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return FileResponse(path, media_type=media_type, headers={"ETag": f'"{art["hash"]}"'})
    return RedirectResponse(store.link(str(art["uri"]), expires), status_code=307)
