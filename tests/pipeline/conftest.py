"""Pure pipeline fixtures: a registry, a context service without a database, a local store under tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest

from context.registry import ReferenceTypeRegistry
from context.service import CampaignContextService
from pipeline.executor import StepExecutor
from pipeline.graph import StepGraph
from pipeline.steps import default_steps
from pipeline.store import LocalArtifactStore


@pytest.fixture(scope="session")
def service(registry: ReferenceTypeRegistry) -> CampaignContextService:
    return CampaignContextService(registry)


@pytest.fixture(scope="session")
def graph() -> StepGraph:
    return StepGraph(default_steps())


@pytest.fixture
def store(tmp_path: Path) -> LocalArtifactStore:
    return LocalArtifactStore(tmp_path / "artifacts")


@pytest.fixture
def executor(service: CampaignContextService, store: LocalArtifactStore) -> StepExecutor:
    return StepExecutor(service, store)
