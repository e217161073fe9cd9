"""The Node clients' dependencies, exactly as the committed lockfile pins them."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.worker_fixtures import ROOT

NODE_DIR = ROOT / "clients" / "node"


@pytest.fixture(scope="session")
def node_modules() -> Path:
    """`npm ci` when a dependency of package.json is missing from node_modules (a clone, or a new dependency)."""
    npm = shutil.which("npm")
    assert npm and shutil.which("node"), "node and npm are needed for the TypeScript-side tests"
    manifest = json.loads((NODE_DIR / "package.json").read_text(encoding="utf-8"))
    wanted = {**manifest.get("dependencies", {}), **manifest.get("devDependencies", {})}
    if not all((NODE_DIR / "node_modules" / name / "package.json").is_file() for name in wanted):
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=NODE_DIR, check=True, timeout=600)
    return NODE_DIR / "node_modules"
