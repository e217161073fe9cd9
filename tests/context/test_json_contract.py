"""The JSON a context dumps to is the TypeScript interfaces' JSON, read from the spec itself."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from context.models import (
    ArtifactData,
    CampaignContext,
    ComputedData,
    QualityCheckResult,
    QualityStatus,
    StandardArtifactType,
    TriggerInfo,
    TriggerType,
)
from context.registry import ReferenceTypeRegistry
from tests.context.examples import HASH, TIMESTAMP, full_document, minimal_document

SPEC = Path(__file__).resolve().parents[2] / "docs" / "spec" / "campaign-context-data-model.md"
DATA_INTERFACES = ["CampaignContext", "TriggerInfo", "ArtifactReferences", "ArtifactData", "ComputedData"]
DATA_INTERFACES += ["QualityCheckResult"]


@dataclass(frozen=True)
class Interface:
    required: frozenset[str]
    optional: frozenset[str]
    open: bool  # has an index signature such as `[customRef: string]`

    @property
    def keys(self) -> frozenset[str]:
        return self.required | self.optional


@cache
def spec_text() -> str:
    return SPEC.read_text(encoding="utf-8")


@cache
def spec_interfaces() -> dict[str, Interface]:
    """Every `interface X { ... }` block of the spec's TypeScript, as its property keys."""
    found = {}
    for name, body in re.findall(r"^interface (\w+) \{\n(.*?)^\}", spec_text(), flags=re.M | re.S):
        props = re.findall(r"^\s*(\w+)(\??):", body, flags=re.M)
        found[name] = Interface(
            required=frozenset(key for key, mark in props if not mark),
            optional=frozenset(key for key, mark in props if mark),
            open=bool(re.search(r"^\s*\[\w+: string\]", body, flags=re.M)),
        )
    return found


def spec_union(type_name: str) -> set[str]:
    """The members of `type X = 'a' | 'b';`."""
    match = re.search(rf"^type {type_name} = (.*);$", spec_text(), flags=re.M)
    assert match, f"type {type_name} not in {SPEC}"
    return set(re.findall(r"'([^']*)'", match.group(1)))


def spec_enum(enum_name: str) -> set[str]:
    match = re.search(rf"^enum {enum_name} \{{\n(.*?)^\}}", spec_text(), flags=re.M | re.S)
    assert match, f"enum {enum_name} not in {SPEC}"
    return set(re.findall(r"= '([^']*)'", match.group(1)))


def dump(ctx: CampaignContext) -> dict[str, Any]:
    return ctx.model_dump(mode="json", by_alias=True, exclude_none=True)


def test_the_spec_copy_declares_every_data_interface_with_its_fields() -> None:
    interfaces = spec_interfaces()
    assert set(DATA_INTERFACES) <= set(interfaces)
    assert interfaces["CampaignContext"].required == {
        "campaignId",
        "runId",
        "workflowName",
        "trigger",
        "refs",
        "artifacts",
    }
    assert interfaces["CampaignContext"].optional == {"computed"}
    assert interfaces["ArtifactReferences"].open
    assert not interfaces["ArtifactData"].open


def test_a_fully_populated_context_has_exactly_the_interface_keys_at_every_level() -> None:
    interfaces = spec_interfaces()
    document = dump(CampaignContext.model_validate(full_document()))
    assert set(document) == interfaces["CampaignContext"].keys
    assert set(document["trigger"]) == interfaces["TriggerInfo"].keys
    assert document["artifacts"]
    for artifact in document["artifacts"].values():
        assert set(artifact) == interfaces["ArtifactData"].keys
    assert set(document["computed"]) == interfaces["ComputedData"].keys
    assert document["computed"]["qualityChecks"]
    for check in document["computed"]["qualityChecks"]:
        assert set(check) == interfaces["QualityCheckResult"].keys
    assert interfaces["ArtifactReferences"].keys <= set(document["refs"])


def test_a_context_without_optionals_has_only_the_required_keys_and_no_nulls() -> None:
    interfaces = spec_interfaces()
    ctx = CampaignContext(
        campaign_id="5b0f1d3c-8a4e-4b6f-9c2d-7e1a0b3c4d5e",
        run_id="9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a",
        workflow_name="wf",
        trigger=TriggerInfo(type=TriggerType.MANUAL, timestamp=TIMESTAMP, payload=None, initiated_by=None),
        refs={"planArtifactId": "11111111-2222-4333-8444-555555555555"},
        artifacts={
            "11111111-2222-4333-8444-555555555555": ArtifactData(
                type="plan", uri="file:///p", hash=HASH, metadata=None, created_at=TIMESTAMP, step_id="plan"
            )
        },
        computed=ComputedData(
            input_hashes_by_step={},
            quality_checks=[
                QualityCheckResult(
                    artifact_id="11111111-2222-4333-8444-555555555555",
                    check_type="schema",
                    status=QualityStatus.PASSED,
                    timestamp=TIMESTAMP,
                    message=None,
                    details=None,
                )
            ],
        ),
    )
    document = dump(ctx)
    assert set(document) == interfaces["CampaignContext"].keys  # computed is set, so it is there
    assert set(document["trigger"]) == interfaces["TriggerInfo"].required
    assert set(document["artifacts"]["11111111-2222-4333-8444-555555555555"]) == interfaces["ArtifactData"].required
    assert set(document["computed"]["qualityChecks"][0]) == interfaces["QualityCheckResult"].required
    assert "null" not in ctx.model_dump_json(by_alias=True, exclude_none=True)


def test_an_absent_computed_is_omitted_not_null() -> None:
    document = dump(CampaignContext.model_validate(minimal_document()))
    assert set(document) == spec_interfaces()["CampaignContext"].required
    assert "computed" not in document


@pytest.mark.parametrize(
    "computed", [{}, {"inputHashesByStep": {}}, {"qualityChecks": []}], ids=["empty", "no-checks", "no-hashes"]
)
def test_computed_without_both_of_its_required_fields_is_refused(computed: dict[str, object]) -> None:
    with pytest.raises(ValidationError) as e:
        CampaignContext.model_validate({**minimal_document(), "computed": computed})
    missing = {err["loc"][-1] for err in e.value.errors() if err["type"] == "missing"}
    assert missing == {"inputHashesByStep", "qualityChecks"} - set(computed)


def test_computed_carries_both_of_its_required_lists() -> None:
    document = {**minimal_document(), "computed": {"inputHashesByStep": {}, "qualityChecks": []}}
    ctx = CampaignContext.model_validate(document)
    assert dump(ctx)["computed"] == {"inputHashesByStep": {}, "qualityChecks": []}
    assert set(dump(ctx)["computed"]) == spec_interfaces()["ComputedData"].required


def test_the_standard_ref_names_are_the_ones_artifact_references_declares() -> None:
    registry = ReferenceTypeRegistry()
    declared = spec_interfaces()["ArtifactReferences"].keys
    assert {registry.get_ref_name(t) for t in registry.list_types()} == declared


def test_the_enums_hold_exactly_the_values_the_spec_lists() -> None:
    assert {t.value for t in TriggerType} == spec_union("TriggerType") == {"manual", "scheduled", "api"}
    assert {s.value for s in QualityStatus} == spec_union("QualityStatus") == {"passed", "failed", "warning"}
    assert {t.value for t in StandardArtifactType} == spec_enum("StandardArtifactType")
    assert len(spec_enum("StandardArtifactType")) == 12


def test_a_valid_document_dumps_back_exactly_as_given() -> None:
    assert dump(CampaignContext.model_validate(full_document())) == full_document()
    assert dump(CampaignContext.model_validate(minimal_document())) == minimal_document()


@pytest.mark.parametrize("document", [minimal_document(), full_document()], ids=["minimal", "full"])
def test_a_context_survives_a_json_round_trip_byte_for_byte(document: dict[str, Any]) -> None:
    ctx = CampaignContext.model_validate(document)
    text = ctx.model_dump_json(by_alias=True, exclude_none=True)
    again = CampaignContext.model_validate_json(text)
    assert again == ctx
    assert again.model_dump_json(by_alias=True, exclude_none=True) == text


def test_unknown_custom_refs_are_kept_through_a_round_trip() -> None:
    refs = {
        "planArtifactId": "11111111-2222-4333-8444-555555555555",
        "customAssetArtifactId": "21111111-2222-4333-8444-555555555555",
        "somethingElseArtifactId": "31111111-2222-4333-8444-555555555555",
    }
    ctx = CampaignContext.model_validate({**minimal_document(), "refs": refs})
    again = CampaignContext.model_validate_json(ctx.model_dump_json(by_alias=True, exclude_none=True))
    assert again.refs == refs
    assert list(dump(again)["refs"]) == list(refs)  # order kept too, so the stored text does not churn


def test_nulls_inside_payload_metadata_and_details_are_kept() -> None:
    ctx = CampaignContext.model_validate(full_document())
    again = dump(CampaignContext.model_validate_json(ctx.model_dump_json(by_alias=True, exclude_none=True)))
    assert again["trigger"]["payload"] == {"brief": "spring sale", "budget": None, "tags": ["a", None]}
    assert all(a["metadata"] == {"width": 1024, "note": None} for a in again["artifacts"].values())
    assert again["computed"]["qualityChecks"][0]["details"] == {"height": 720, "expected": None}


def test_the_json_dict_stored_on_a_run_is_the_contract_dump() -> None:
    ctx = CampaignContext.model_validate(full_document())
    assert ctx.to_json_dict() == full_document()
