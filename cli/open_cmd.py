"""`campaign open RUN`: unpack a run's game bundle to a folder and open its index.html in the default browser."""

from __future__ import annotations

import io
import tempfile
import uuid
import webbrowser
import zipfile
from pathlib import Path, PurePosixPath
from typing import Annotated

import typer


def open_run(
    run_id: uuid.UUID,
    tenant: Annotated[
        uuid.UUID | None, typer.Option("--tenant", envvar="CAMPAIGN_TENANT", help="Tenant id (default: the local one).")
    ] = None,
    to: Annotated[Path | None, typer.Option("--to", help="Unpack here (default: a new temporary folder).")] = None,
    browser: Annotated[bool, typer.Option(help="Open the page in the default browser.")] = True,
) -> None:
    """Unpack the run's game to a folder and open it in the default browser (or print where it is)."""
    from cli.main import EXIT_BAD_INPUT, errors_as_exit, fail, out
    from cli.summary import artifact
    from context.errors import BaseRunNotFoundError
    from context.settings import get_settings
    from tasks import client
    from tasks.worker import resources

    with errors_as_exit():
        snap = client.snapshot(run_id, tenant or get_settings().tenant)
        if snap is None:
            raise BaseRunNotFoundError(str(run_id))
        bundle = artifact(snap.run.context, "gameBundleArtifactId")
        if bundle is None:
            raise fail(f"run {run_id} has no game bundle (status {snap.run.status})", EXIT_BAD_INPUT)
        data = resources().store.read(bundle["uri"], bundle["hash"])  # verifies the hash
    folder = to or Path(tempfile.mkdtemp(prefix=f"campaign-{str(run_id)[:8]}-"))
    try:
        index = unpack_bundle(data, folder)
    except ValueError as e:
        raise fail(str(e), EXIT_BAD_INPUT) from e
    out.print(f"game: {index.as_uri()}", markup=False, highlight=False, soft_wrap=True)
    # A machine without a display has no browser to open; the path above is then the way in.
    if browser and not webbrowser.open(index.as_uri()):
        out.print("no browser found: open the path above in one", highlight=False)


def unpack_bundle(data: bytes, folder: Path) -> Path:
    """Extract the bundle into `folder` (created if needed) and return its index.html; a member whose path would
    leave the folder, or a bundle without index.html, is refused before anything is written."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = zf.namelist()
        for name in names:
            path = PurePosixPath(name)
            if path.is_absolute() or ".." in path.parts or "\\" in name or ":" in name:
                raise ValueError(f"bundle member {name!r} would be written outside the folder")
        if "index.html" not in names:
            raise ValueError("the bundle has no index.html")
        folder.mkdir(parents=True, exist_ok=True)
        zf.extractall(folder)
    return folder.resolve() / "index.html"
