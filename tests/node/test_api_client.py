"""The typed Node client of the HTTP API: generated from the committed OpenAPI document, type-checked, and run
against a real `campaign api` (uvicorn), PostgreSQL, Redis and workers."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.conftest import ApiServer, api_env
from tests.api.keys_cli import create_key
from tests.node.conftest import NODE_DIR
from tests.worker_fixtures import WorkerProcess

NPM_TIMEOUT_S = 120


def _npm(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["npm", "run", "--silent", *args], cwd=NODE_DIR, capture_output=True, text=True, timeout=NPM_TIMEOUT_S,
        check=False,
    )  # fmt: skip


def test_the_committed_types_are_what_the_generator_makes_of_the_committed_openapi_document(
    node_modules: Path,
) -> None:
    proc = _npm("generate", "--", "--check")

    assert proc.returncode == 0, "api/openapi.d.ts drifted: run `npm run generate` in clients/node\n" + proc.stderr


def test_the_client_and_its_test_type_check_against_the_generated_types(node_modules: Path) -> None:
    proc = _npm("typecheck")

    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.fixture
def api_for_node(
    app_pg_url: str, redis_url: str, artifact_root: Path, worker: WorkerProcess, tmp_path: Path
) -> Iterator[ApiServer]:
    """`campaign api` on a free port, with no key of its own in the environment: the client's key is made by
    `campaign keys create`, as an operator would."""
    server = ApiServer(api_env(app_pg_url, redis_url, artifact_root, []), tmp_path / "api.log")
    server.start()
    yield server
    server.stop()


def test_the_node_client_submits_a_run_follows_its_events_to_completion_and_reads_a_structured_404(
    node_modules: Path, api_for_node: ApiServer, app_pg_url: str
) -> None:
    key = create_key(app_pg_url, uuid.uuid4())
    env = {**os.environ, "CAMPAIGN_API_URL": api_for_node.url, "CAMPAIGN_API_KEY": key}

    proc = subprocess.run(
        ["node", "test/api-client.mjs"], cwd=NODE_DIR, env=env, capture_output=True, text=True, timeout=300,
        check=False,
    )  # fmt: skip

    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["status"] == "completed"
    assert summary["kinds"][0] == "queued" and summary["kinds"][-1] == "completed"
    assert summary["kinds"].count("step_finished") == 12
    assert summary["resumed"] == len(summary["kinds"]) - 2
    assert summary["notFound"]["status"] == 404 and summary["notFound"]["code"] == "not_found"
    print(proc.stdout.strip().splitlines()[-1])
