"""/v1/runs/{id}/game: the run's playable game as one page, for a sandboxed frame (the run page shows it)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from api.auth import Tenant
from api.game_frame import CSP, BundleError, game_page
from api.refusals import ApiRefusalError
from api.routes.artifacts import artifact_of_type
from api.schemas import REFUSALS
from api.submission import existing
from pipeline.errors import Problem
from tasks.worker import resources

router = APIRouter(prefix="/v1/runs", tags=["artifacts"], responses=REFUSALS)


@router.get(
    "/{run_id}/game",
    response_class=Response,  # HTMLResponse here would list the refusals as text/html too
    responses={200: {"content": {"text/html": {}}, "description": "The game page, its files inlined"}},
)
def get_game(run_id: uuid.UUID, tenant: Tenant) -> HTMLResponse:
    """The game bundle's entry page with the files it plays inlined, under a policy that lets it load nothing and
    a sandbox without same-origin (embed it in `<iframe sandbox="allow-scripts">`)."""
    art = artifact_of_type(existing(run_id, tenant).run.context, "game_bundle")
    if art is None:
        raise ApiRefusalError(404, "not_found", [Problem("type", f"run {run_id} has no game_bundle artifact")])
    bundle = resources().store.read(str(art["uri"]), str(art["hash"]))  # checked against the recorded hash
    entry = str((art.get("metadata") or {}).get("entry") or "index.html")
    try:
        page = game_page(bundle, entry)
    except BundleError as e:
        raise ApiRefusalError(404, "not_found", [Problem("game_bundle", str(e))]) from e
    headers = {
        "Content-Security-Policy": CSP,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "private, no-cache",
        "ETag": f'"{art["hash"]}"',
    }
    return HTMLResponse(page, headers=headers)
