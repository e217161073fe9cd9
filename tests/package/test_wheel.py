"""`pip install .` (a wheel, not editable) into a fresh venv gives a `campaign` that works from any folder.

Slow (about a minute: the venv installs every dependency); it is the only test of what a user installs.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.services import create_database, drop_database, sqlalchemy_url
from tests.worker_fixtures import ROOT


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The `campaign` script of a fresh venv that has only the built wheel (and its dependencies) installed."""
    base = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", str(ROOT), "-w", str(base / "dist")],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    wheel = next((base / "dist").glob("campaign_pipeline-*.whl"))
    subprocess.run([sys.executable, "-m", "venv", str(base / "venv")], check=True, timeout=120)
    pip = subprocess.run(
        [str(base / "venv" / "bin" / "pip"), "install", "--quiet", str(wheel)], capture_output=True, text=True,
        timeout=600, check=False,
    )  # fmt: skip
    assert pip.returncode == 0, pip.stderr[-3000:]
    return base / "venv" / "bin" / "campaign"


def run_installed(
    campaign: Path, *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    # Nothing of the checkout is reachable: no PYTHONPATH, no CAMPAIGN_* from the test environment.
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("CAMPAIGN_", "PYTHON", "VIRTUAL_ENV"))}
    return subprocess.run(
        [str(campaign), *args], cwd=cwd, env={**clean, **(env or {})}, capture_output=True, text=True, timeout=300,
        check=False,
    )  # fmt: skip


@pytest.fixture
def scratch_db() -> Iterator[str]:
    name = create_database("campaign_wheel")
    yield sqlalchemy_url(name)
    drop_database(name)


def test_the_installed_campaign_runs_the_demo_from_an_empty_folder(installed: Path, tmp_path: Path) -> None:
    empty = tmp_path / "anywhere"
    empty.mkdir()

    proc = run_installed(installed, "demo", cwd=empty)

    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("executed") == 12
    bundle = re.search(r"game bundle: file://(\S+)", proc.stdout)
    assert bundle and Path(bundle.group(1)).is_file()
    assert Path(bundle.group(1)).is_relative_to(empty / "var" / "artifacts")


def test_the_installed_campaign_migrates_a_database_from_any_folder(
    installed: Path, tmp_path: Path, scratch_db: str
) -> None:
    env = {"CAMPAIGN_DATABASE_URL": scratch_db}
    before = run_installed(installed, "stale", cwd=tmp_path, env=env)
    assert before.returncode == 4 and "run `campaign db upgrade`" in before.stderr

    migrate = run_installed(installed, "db", "upgrade", cwd=tmp_path, env=env)
    after = run_installed(installed, "stale", "--json", cwd=tmp_path, env=env)

    assert migrate.returncode == 0, migrate.stderr
    assert after.returncode == 0, after.stderr
    assert json.loads(after.stdout) == []


def test_the_installed_campaign_prints_the_committed_schemas(installed: Path, tmp_path: Path) -> None:
    for name in ("context", "request", "event"):
        proc = run_installed(installed, "schema", name, cwd=tmp_path)
        committed = (ROOT / "docs" / "schema" / f"{name}.schema.json").read_text()
        assert json.loads(proc.stdout) == json.loads(committed)
