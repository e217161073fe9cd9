"""CampaignContextService.create and attach_step_result: pure functions on contexts."""

from __future__ import annotations

import inspect
import re
import uuid

import pytest
from pydantic import ValidationError

import context.errors
from context.errors import (
    ContextCapacityExceededError,
    ContextError,
    DuplicateArtifactIdError,
    InvalidArtifactTypeError,
)
from context.models import CampaignContext, ComputedData, QualityCheckResult, QualityStatus, StepArtifact
from context.registry import ReferenceTypeRegistry
from context.service import CampaignContextService
from tests.context.examples import CAMPAIGN_ID, HASH, RUN_ID, TIMESTAMP

JS_ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@pytest.fixture
def service(registry: ReferenceTypeRegistry) -> CampaignContextService:
    return CampaignContextService(registry)


@pytest.fixture
def empty(service: CampaignContextService) -> CampaignContext:
    return service.create(
        campaign_id=CAMPAIGN_ID,
        run_id=RUN_ID,
        workflow_name="spring-campaign",
        trigger={"type": "scheduled", "timestamp": TIMESTAMP, "payload": {"brief": "sale"}},
    )


def artifact(artifact_type: str = "plan", **kwargs: object) -> StepArtifact:
    return StepArtifact.model_validate(
        {"type": artifact_type, "uri": f"file:///{artifact_type}", "hash": HASH, **kwargs}
    )


def deep_dump(ctx: CampaignContext) -> str:
    return ctx.model_dump_json(by_alias=True)


def test_create_gives_an_empty_context(empty: CampaignContext) -> None:
    assert empty.refs == {}
    assert empty.artifacts == {}
    assert empty.computed is None
    assert empty.to_json_dict() == {
        "campaignId": CAMPAIGN_ID,
        "runId": RUN_ID,
        "workflowName": "spring-campaign",
        "trigger": {"type": "scheduled", "payload": {"brief": "sale"}, "timestamp": TIMESTAMP},
        "refs": {},
        "artifacts": {},
    }


def test_create_validates_what_it_is_given(service: CampaignContextService) -> None:
    with pytest.raises(ValidationError, match="campaignId"):
        service.create(
            campaign_id="campaign-1", run_id=RUN_ID, workflow_name="w", trigger={"type": "api", "timestamp": TIMESTAMP}
        )
    with pytest.raises(ValidationError, match="timestamp"):
        service.create(
            campaign_id=CAMPAIGN_ID, run_id=RUN_ID, workflow_name="w", trigger={"type": "api", "timestamp": "now"}
        )


def test_attaching_returns_a_new_context_and_leaves_the_argument_unchanged(
    service: CampaignContextService, empty: CampaignContext
) -> None:
    before = deep_dump(empty)
    grown = service.attach_step_result(empty, "plan", [artifact("plan")])
    assert grown is not empty
    assert deep_dump(empty) == before
    assert len(grown.artifacts) == 1
    # and again from a populated context, where a shallow copy would share the maps
    populated = deep_dump(grown)
    service.attach_step_result(grown, "plan", [artifact("plan")])
    service.attach_step_result(grown, "bgm", [artifact("bgm")])
    assert deep_dump(grown) == populated


def test_an_attached_artifact_is_stamped_with_its_step_and_a_utc_time(
    service: CampaignContextService, empty: CampaignContext
) -> None:
    grown = service.attach_step_result(empty, "make_plan", [artifact("plan", metadata={"pages": 3, "note": None})])
    (stored,) = grown.artifacts.values()
    assert stored.step_id == "make_plan"
    assert JS_ISO.match(stored.created_at), stored.created_at
    assert stored.metadata == {"pages": 3, "note": None}
    assert (stored.type, stored.uri, stored.hash) == ("plan", "file:///plan", HASH)


def test_the_clock_given_to_the_service_stamps_created_at(
    registry: ReferenceTypeRegistry, empty: CampaignContext
) -> None:
    service = CampaignContextService(registry, clock=lambda: "2030-01-02T03:04:05.678Z")
    grown = service.attach_step_result(empty, "plan", [artifact("plan")])
    assert [a.created_at for a in grown.artifacts.values()] == ["2030-01-02T03:04:05.678Z"]


def test_attaching_sets_the_ref_of_each_artifact_type(service: CampaignContextService, empty: CampaignContext) -> None:
    given_id = str(uuid.uuid4())
    grown = service.attach_step_result(
        empty, "assets", [artifact("intro_image", artifact_id=given_id), artifact("custom_asset"), artifact("bgm")]
    )
    assert grown.refs["introImageArtifactId"] == given_id
    assert set(grown.refs) == {"introImageArtifactId", "customAssetArtifactId", "bgmArtifactId"}
    assert set(grown.refs.values()) == set(grown.artifacts)
    for ref_name, artifact_id in grown.refs.items():
        assert service.registry.get_ref_name(grown.artifacts[artifact_id].type) == ref_name


def test_an_explicit_ref_name_overrides_the_type_default(
    service: CampaignContextService, empty: CampaignContext
) -> None:
    grown = service.attach_step_result(empty, "video", [artifact("intro_video", ref_name="teaserVideoArtifactId")])
    assert set(grown.refs) == {"teaserVideoArtifactId"}
    assert grown.refs["teaserVideoArtifactId"] in grown.artifacts


def test_an_artifact_id_already_in_the_map_is_a_duplicate(
    service: CampaignContextService, empty: CampaignContext
) -> None:
    artifact_id = str(uuid.uuid4())
    grown = service.attach_step_result(empty, "plan", [artifact("plan", artifact_id=artifact_id)])
    before = deep_dump(grown)
    with pytest.raises(DuplicateArtifactIdError, match=artifact_id) as caught:
        service.attach_step_result(grown, "bgm", [artifact("bgm", artifact_id=artifact_id)])
    assert (caught.value.artifact_id, caught.value.step_id) == (artifact_id, "bgm")
    assert deep_dump(grown) == before


def test_the_same_artifact_id_twice_in_one_step_is_a_duplicate(
    service: CampaignContextService, empty: CampaignContext
) -> None:
    artifact_id = str(uuid.uuid4())
    with pytest.raises(DuplicateArtifactIdError, match=artifact_id):
        service.attach_step_result(
            empty, "audio", [artifact("bgm", artifact_id=artifact_id), artifact("sfx", artifact_id=artifact_id)]
        )
    assert empty.artifacts == {}


def test_an_unregistered_artifact_type_is_refused(service: CampaignContextService, empty: CampaignContext) -> None:
    with pytest.raises(InvalidArtifactTypeError, match="'hologram'") as caught:
        service.attach_step_result(empty, "plan", [artifact("plan"), artifact("hologram")])
    assert caught.value.artifact_type == "hologram"
    assert empty.artifacts == {}


def test_a_custom_type_is_refused_by_a_registry_that_does_not_list_it(empty: CampaignContext) -> None:
    with pytest.raises(InvalidArtifactTypeError, match="custom_asset"):
        CampaignContextService(ReferenceTypeRegistry()).attach_step_result(empty, "x", [artifact("custom_asset")])


def _numbered(start: int, count: int) -> list[StepArtifact]:
    return [artifact("custom_asset", ref_name=f"asset{i}ArtifactId") for i in range(start, start + count)]


def test_exactly_fifty_artifacts_fit_and_the_fifty_first_is_refused(
    service: CampaignContextService, empty: CampaignContext
) -> None:
    full = service.attach_step_result(empty, "batch", _numbered(0, 49))
    full = service.attach_step_result(full, "last", _numbered(49, 1))
    assert len(full.artifacts) == 50
    before = deep_dump(full)
    with pytest.raises(ContextCapacityExceededError, match="51") as caught:
        service.attach_step_result(full, "one_more", _numbered(50, 1))
    assert (caught.value.count, caught.value.limit) == (51, 50)
    assert deep_dump(full) == before


def test_fifty_one_artifacts_in_one_step_are_refused(service: CampaignContextService, empty: CampaignContext) -> None:
    assert len(service.attach_step_result(empty, "batch", _numbered(0, 50)).artifacts) == 50
    with pytest.raises(ContextCapacityExceededError):
        service.attach_step_result(empty, "batch", _numbered(0, 51))


def test_the_cap_is_configurable(registry: ReferenceTypeRegistry, empty: CampaignContext) -> None:
    service = CampaignContextService(registry, max_artifacts=2)
    two = service.attach_step_result(empty, "a", _numbered(0, 2))
    with pytest.raises(ContextCapacityExceededError, match="limit is 2"):
        service.attach_step_result(two, "b", _numbered(2, 1))


def test_a_superseded_artifact_leaves_the_map_so_a_full_context_can_still_be_updated(
    service: CampaignContextService, empty: CampaignContext
) -> None:
    full = service.attach_step_result(empty, "batch", _numbered(0, 50))
    old_id = full.refs["asset7ArtifactId"]
    updated = service.attach_step_result(full, "redo", [artifact("custom_asset", ref_name="asset7ArtifactId")])
    assert len(updated.artifacts) == 50
    assert old_id not in updated.artifacts
    assert updated.refs["asset7ArtifactId"] != old_id
    assert old_id in full.artifacts


def test_re_attaching_a_ref_drops_the_old_artifact_and_its_quality_checks(
    service: CampaignContextService, empty: CampaignContext
) -> None:
    first = service.attach_step_result(empty, "bgm", [artifact("bgm"), artifact("plan")])
    old_bgm, plan_id = first.refs["bgmArtifactId"], first.refs["planArtifactId"]
    checks = [
        QualityCheckResult(artifact_id=aid, check_type="loudness", status=QualityStatus.PASSED, timestamp=TIMESTAMP)
        for aid in (old_bgm, plan_id)
    ]
    checked = first.model_copy(update={"computed": ComputedData(input_hashes_by_step={}, quality_checks=checks)})
    redone = service.attach_step_result(checked, "bgm", [artifact("bgm")])
    assert old_bgm not in redone.artifacts
    assert redone.refs["bgmArtifactId"] in redone.artifacts
    assert redone.computed is not None
    assert [q.artifact_id for q in redone.computed.quality_checks] == [plan_id]
    assert checked.computed is not None and len(checked.computed.quality_checks) == 2


def test_an_artifact_still_named_by_another_ref_is_not_dropped(
    service: CampaignContextService, empty: CampaignContext
) -> None:
    shared = str(uuid.uuid4())
    grown = service.attach_step_result(empty, "plan", [artifact("plan", artifact_id=shared)])
    aliased = grown.model_copy(update={"refs": {**grown.refs, "basePlanArtifactId": shared}})
    redone = service.attach_step_result(aliased, "plan", [artifact("plan")])
    assert shared in redone.artifacts
    assert redone.refs["basePlanArtifactId"] == shared
    assert redone.refs["planArtifactId"] != shared


def test_the_attached_context_still_satisfies_the_contract(
    service: CampaignContextService, empty: CampaignContext
) -> None:
    grown = service.attach_step_result(empty, "all", [artifact(t) for t in service.registry.list_types()])
    assert CampaignContext.model_validate(grown.to_json_dict()) == grown
    assert all(uuid.UUID(key) for key in grown.artifacts)


ERROR_CLASSES = [
    cls
    for _, cls in inspect.getmembers(context.errors, inspect.isclass)
    if issubclass(cls, Exception) and cls.__module__ == context.errors.__name__ and cls is not ContextError
]


def test_the_error_module_defines_the_errors_of_the_contract() -> None:
    names = {cls.__name__ for cls in ERROR_CLASSES}
    assert {
        "DuplicateArtifactIdError",
        "InvalidArtifactTypeError",
        "ContextCapacityExceededError",
        "BaseRunNotFoundError",
        "UnauthorizedError",
    } <= names


@pytest.mark.parametrize("error_class", ERROR_CLASSES, ids=lambda cls: cls.__name__)
def test_every_error_subclasses_context_error(error_class: type[Exception]) -> None:
    assert issubclass(error_class, ContextError)
