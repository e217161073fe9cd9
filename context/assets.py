"""Files the code ships with (the artifact-type config and its schema, the Alembic migrations), found wherever
the code runs: a wheel installs them as the data packages `campaign_config` and `campaign_migrations`
(pyproject.toml maps them from config/ and alembic/); a checkout run without installing reads the folders.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def _package_dir(package: str, repo_folder: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is not None and spec.submodule_search_locations:
        # A data package without __init__.py is a namespace package: its folder is its first search location.
        return Path(next(iter(spec.submodule_search_locations)))
    return REPO_ROOT / repo_folder


def config_dir() -> Path:
    return _package_dir("campaign_config", "config")


def migrations_dir() -> Path:
    return _package_dir("campaign_migrations", "alembic")
