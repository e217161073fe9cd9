"""Resolving ref names to artifacts, dangling refs included."""

from __future__ import annotations

import pytest

from context.models import CampaignContext
from context.resolver import ContextResolver
from tests.context.examples import artifact_document, minimal_document

PLAN_ID = "11111111-2222-4333-8444-555555555555"
ASSET_ID = "21111111-2222-4333-8444-555555555555"
MISSING_ID = "99999999-2222-4333-8444-555555555555"
ORPHAN_ID = "41111111-2222-4333-8444-555555555555"


@pytest.fixture
def ctx() -> CampaignContext:
    """plan and a custom asset resolve; bgm points at an artifact the map does not hold; one artifact has no ref."""
    return CampaignContext.model_validate(
        {
            **minimal_document(),
            "refs": {"planArtifactId": PLAN_ID, "bgmArtifactId": MISSING_ID, "customAssetArtifactId": ASSET_ID},
            "artifacts": {
                PLAN_ID: artifact_document("plan"),
                ASSET_ID: artifact_document("custom_asset"),
                ORPHAN_ID: artifact_document("sfx"),
            },
        }
    )


def test_a_populated_ref_resolves_to_its_artifact(ctx: CampaignContext) -> None:
    resolver = ContextResolver()
    assert resolver.get_ref(ctx, "planArtifactId") == ctx.artifacts[PLAN_ID]
    assert resolver.get_ref(ctx, "customAssetArtifactId") == ctx.artifacts[ASSET_ID]
    assert resolver.has_ref(ctx, "planArtifactId")


def test_an_unset_ref_resolves_to_nothing(ctx: CampaignContext) -> None:
    resolver = ContextResolver()
    assert resolver.get_ref(ctx, "sfxArtifactId") is None
    assert not resolver.has_ref(ctx, "sfxArtifactId")


def test_a_ref_to_a_missing_artifact_is_reported_as_dangling(ctx: CampaignContext) -> None:
    resolver = ContextResolver()
    assert not resolver.has_ref(ctx, "bgmArtifactId")
    assert resolver.get_ref(ctx, "bgmArtifactId") is None
    assert resolver.dangling_refs(ctx) == {"bgmArtifactId": MISSING_ID}
    assert "bgmArtifactId" not in resolver.list_refs(ctx)


def test_list_refs_names_the_refs_that_resolve_in_order(ctx: CampaignContext) -> None:
    assert ContextResolver().list_refs(ctx) == ["planArtifactId", "customAssetArtifactId"]


def test_an_artifact_is_found_by_id_with_or_without_a_ref(ctx: CampaignContext) -> None:
    resolver = ContextResolver()
    assert resolver.get_artifact(ctx, PLAN_ID) == ctx.artifacts[PLAN_ID]
    assert resolver.get_artifact(ctx, ORPHAN_ID) is not None
    assert resolver.get_artifact(ctx, MISSING_ID) is None
    assert resolver.get_artifact(ctx, "not-an-id") is None


def test_an_empty_context_has_no_refs_and_nothing_dangling() -> None:
    empty = CampaignContext.model_validate(minimal_document())
    resolver = ContextResolver()
    assert resolver.list_refs(empty) == []
    assert resolver.dangling_refs(empty) == {}
    assert not resolver.has_ref(empty, "planArtifactId")
