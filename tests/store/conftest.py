"""Fixtures for the S3 store tests: one moto server per session, a fresh bucket per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pipeline.store_s3 import S3ArtifactStore
from tests.generation_service import GenerationService
from tests.s3_server import S3Server


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    server = S3Server(tmp_path_factory.mktemp("moto"))
    server.start()
    yield server
    server.kill()


@pytest.fixture
def s3_env(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> S3Server:
    """The standard AWS variables of this process point at the test server, as a deployment's would."""
    for name, value in s3_server.env().items():
        monkeypatch.setenv(name, value)
    return s3_server


@pytest.fixture
def bucket(s3_env: S3Server) -> str:
    return s3_env.new_bucket()


@pytest.fixture
def s3_store(bucket: str) -> S3ArtifactStore:
    return S3ArtifactStore(f"s3://{bucket}/campaigns/artifacts")


@pytest.fixture(scope="session")
def generation_service() -> Iterator[GenerationService]:
    service = GenerationService()
    service.start()
    yield service
    service.stop()
