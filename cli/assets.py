"""`--asset logo=FILE`: a brand image checked here, uploaded to the artifact store, and named in the run request."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

AssetOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--asset",
        help="A brand image, ROLE=FILE (roles: logo, product; PNG, JPEG or GIF), shown on the intro and the page.",
    ),
]
_SUFFIX = {"png": ".png", "jpeg": ".jpg", "gif": ".gif"}


def read_assets(specs: list[str] | None) -> dict[str, tuple[bytes, str]]:
    """Each `ROLE=FILE` as (bytes, suffix), checked; ValueError saying which option is wrong and why."""
    from pipeline.brand import ASSET_TYPES, check_image  # not at import: `campaign --help` loads no engine

    found: dict[str, tuple[bytes, str]] = {}
    for spec in specs or []:
        role, sep, path = spec.partition("=")
        if not sep or not path:
            raise ValueError(f"--asset {spec}: expected ROLE=FILE, e.g. logo=logo.png")
        if role not in ASSET_TYPES:
            raise ValueError(f"--asset {spec}: unknown role {role!r}; roles: {', '.join(ASSET_TYPES)}")
        if role in found:
            raise ValueError(f"--asset {role}: given twice")
        try:
            data = Path(path).read_bytes()
        except OSError as e:
            raise ValueError(f"--asset {role}: cannot read {path}: {e.strerror or e}") from e
        try:
            checked = check_image(data, role=f"--asset {role}")
        except ValueError as e:
            raise ValueError(f"{e} ({path})") from e
        found[role] = (data, _SUFFIX[str(checked["format"])])
    return found


def upload_assets(assets: dict[str, tuple[bytes, str]]) -> dict[str, Any]:
    """Put each image in the configured artifact store; the request's `assets` naming them."""
    if not assets:
        return {}
    from pipeline.brand import AssetRef
    from tasks.worker import resources

    store = resources().store
    uploaded: dict[str, Any] = {}
    for role, (data, suffix) in assets.items():
        stored = store.put(data, suffix)
        uploaded[role] = AssetRef(uri=stored.uri, hash=stored.hash)
    return uploaded
