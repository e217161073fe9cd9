"""Each field constraint of the contract, at its bound and just past it."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from context.models import CampaignContext
from tests.context.examples import HASH, TIMESTAMP, full_document, minimal_document, value_at, with_change, without

UUID_LOWER = "3f2b1c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
UUID_FIELDS = [
    ("campaignId",),
    ("runId",),
    ("refs", "planArtifactId"),
    ("refs", "customAssetArtifactId"),
    ("computed", "qualityChecks", 0, "artifactId"),
]
NOT_UUIDS = [
    "",
    "not-a-uuid",
    UUID_LOWER[:-1],
    UUID_LOWER + "0",
    UUID_LOWER.replace("-", ""),
    "{" + UUID_LOWER + "}",
    "urn:uuid:" + UUID_LOWER,
    "+" + UUID_LOWER[1:],
    "1_" + UUID_LOWER[2:],
    "\u0663" + UUID_LOWER[1:],  # ARABIC-INDIC DIGIT THREE: int() reads it, the TypeScript side does not
    UUID_LOWER + "\n",
    UUID_LOWER.replace("3f", "zz", 1),
]
TIMESTAMP_FIELDS = [
    ("trigger", "timestamp"),
    ("artifacts", "ARTIFACT", "createdAt"),
    ("computed", "qualityChecks", 0, "timestamp"),
]


def _first_artifact_id(document: dict[str, Any]) -> str:
    return str(next(iter(document["artifacts"])))


def _resolve(document: dict[str, Any], path: tuple[Any, ...]) -> tuple[Any, ...]:
    """Replace the ARTIFACT placeholder in `path` with a real key of the document's artifact map."""
    return tuple(_first_artifact_id(document) if part == "ARTIFACT" else part for part in path)


def assert_rejected_naming(document: Any, field: str) -> ValidationError:
    """Validation fails and the report names `field` (the camelCase JSON name)."""
    with pytest.raises(ValidationError) as caught:
        CampaignContext.model_validate(document)
    locations = {part for error in caught.value.errors() for part in error["loc"]}
    assert field in locations, f"{field!r} not named in {caught.value.errors()}"
    assert field in str(caught.value)
    return caught.value


def test_the_minimal_and_the_full_documents_are_valid() -> None:
    CampaignContext.model_validate(minimal_document())
    CampaignContext.model_validate(full_document())


@pytest.mark.parametrize("path", UUID_FIELDS, ids=lambda p: ".".join(map(str, p)))
@pytest.mark.parametrize("value", [UUID_LOWER, UUID_LOWER.upper()])
def test_a_uuid_field_accepts_a_hyphenated_uuid_in_either_case(path: tuple[Any, ...], value: str) -> None:
    ctx = CampaignContext.model_validate(with_change(full_document(), path, value))
    assert value_at(ctx.model_dump(mode="json", by_alias=True), path) == value


@pytest.mark.parametrize("path", UUID_FIELDS, ids=lambda p: ".".join(map(str, p)))
@pytest.mark.parametrize("value", NOT_UUIDS)
def test_a_uuid_field_rejects_anything_but_a_hyphenated_uuid(path: tuple[Any, ...], value: str) -> None:
    assert_rejected_naming(with_change(full_document(), path, value), str(path[-1]))


@pytest.mark.parametrize("key", NOT_UUIDS)
def test_an_artifact_map_key_that_is_not_a_uuid_is_rejected(key: str) -> None:
    document = full_document()
    first = _first_artifact_id(document)
    document["artifacts"][key] = document["artifacts"].pop(first)
    assert_rejected_naming(document, "artifacts")


def test_an_artifact_map_key_that_is_a_uuid_is_accepted() -> None:
    document = full_document()
    document["artifacts"][UUID_LOWER] = document["artifacts"].pop(_first_artifact_id(document))
    assert UUID_LOWER in CampaignContext.model_validate(document).artifacts


@pytest.mark.parametrize("name", ["w", "x" * 255, "é" * 255])
def test_a_workflow_name_of_1_to_255_characters_is_accepted(name: str) -> None:
    assert (
        CampaignContext.model_validate(with_change(minimal_document(), ("workflowName",), name)).workflow_name == name
    )


@pytest.mark.parametrize("name", ["", "x" * 256, "é" * 256])
def test_an_empty_or_256_character_workflow_name_is_rejected(name: str) -> None:
    assert_rejected_naming(with_change(minimal_document(), ("workflowName",), name), "workflowName")


@pytest.mark.parametrize("length", [1, 2048])
def test_a_uri_of_up_to_2048_characters_is_accepted(length: int) -> None:
    document = full_document()
    uri = "f" * length
    ctx = CampaignContext.model_validate(with_change(document, ("artifacts", _first_artifact_id(document), "uri"), uri))
    assert ctx.artifacts[_first_artifact_id(document)].uri == uri


@pytest.mark.parametrize("length", [0, 2049])
def test_an_empty_or_2049_character_uri_is_rejected(length: int) -> None:
    document = full_document()
    assert_rejected_naming(
        with_change(document, ("artifacts", _first_artifact_id(document), "uri"), "f" * length), "uri"
    )


@pytest.mark.parametrize("value", [HASH, HASH.upper(), "0" * 64])
def test_a_hash_of_exactly_64_hex_digits_is_accepted(value: str) -> None:
    document = full_document()
    ctx = CampaignContext.model_validate(
        with_change(document, ("artifacts", _first_artifact_id(document), "hash"), value)
    )
    assert ctx.artifacts[_first_artifact_id(document)].hash == value


@pytest.mark.parametrize(
    "value",
    [HASH[:63], HASH + "0", "g" * 64, HASH[:63] + "-", HASH + "\n", " " + HASH[1:], ""],
    ids=["63", "65", "non-hex", "dash", "newline", "space", "empty"],
)
def test_a_hash_that_is_not_64_hex_digits_is_rejected(value: str) -> None:
    document = full_document()
    assert_rejected_naming(with_change(document, ("artifacts", _first_artifact_id(document), "hash"), value), "hash")


@pytest.mark.parametrize("path", TIMESTAMP_FIELDS, ids=lambda p: ".".join(map(str, p)))
@pytest.mark.parametrize(
    "value", [TIMESTAMP, "2026-11-24T10:15:30Z", "2026-11-24T11:15:30.123+01:00", "2026-11-24T04:45:30.123456-05:30"]
)
def test_a_timestamp_with_an_offset_is_accepted_and_kept_as_written(path: tuple[Any, ...], value: str) -> None:
    document = full_document()
    ctx = CampaignContext.model_validate(with_change(document, _resolve(document, path), value))
    assert value_at(ctx.model_dump(mode="json", by_alias=True), _resolve(document, path)) == value


@pytest.mark.parametrize("path", TIMESTAMP_FIELDS, ids=lambda p: ".".join(map(str, p)))
@pytest.mark.parametrize(
    "value",
    [
        "2026-11-24T10:15:30.123",
        "2026-11-24T10:15:30",
        "2026-11-24",
        "yesterday",
        "",
        "2026-13-01T00:00:00Z",
        "1e9",
        "2026-W47-2T10:15:30Z",
        "20261124T101530Z",
        "2026-11-24 10:15:30Z",
    ],
    ids=[
        "no-offset-ms",
        "no-offset",
        "date-only",
        "garbage",
        "empty",
        "month-13",
        "number-text",
        "week-date",
        "compact",
        "space-for-T",
    ],
)
def test_a_timestamp_without_an_offset_or_that_javascript_cannot_parse_is_rejected(
    path: tuple[Any, ...], value: str
) -> None:
    document = full_document()
    assert_rejected_naming(with_change(document, _resolve(document, path), value), str(path[-1]))


def test_a_timestamp_given_as_a_number_is_rejected() -> None:
    assert_rejected_naming(with_change(minimal_document(), ("trigger", "timestamp"), 1764000000000), "timestamp")


REQUIRED_PATHS = [
    ("campaignId",),
    ("runId",),
    ("workflowName",),
    ("trigger",),
    ("refs",),
    ("artifacts",),
    ("trigger", "type"),
    ("trigger", "timestamp"),
    ("artifacts", "ARTIFACT", "type"),
    ("artifacts", "ARTIFACT", "uri"),
    ("artifacts", "ARTIFACT", "hash"),
    ("artifacts", "ARTIFACT", "createdAt"),
    ("artifacts", "ARTIFACT", "stepId"),
    ("computed", "qualityChecks", 0, "artifactId"),
    ("computed", "qualityChecks", 0, "checkType"),
    ("computed", "qualityChecks", 0, "status"),
    ("computed", "qualityChecks", 0, "timestamp"),
]


@pytest.mark.parametrize("path", REQUIRED_PATHS, ids=lambda p: ".".join(map(str, p)))
def test_a_missing_required_field_is_rejected_by_name(path: tuple[Any, ...]) -> None:
    document = full_document()
    assert_rejected_naming(without(document, _resolve(document, path)), str(path[-1]))


OPTIONAL_PATHS = [
    ("computed",),
    ("trigger", "payload"),
    ("trigger", "initiatedBy"),
    ("artifacts", "ARTIFACT", "metadata"),
    ("computed", "qualityChecks", 0, "message"),
    ("computed", "qualityChecks", 0, "details"),
]


@pytest.mark.parametrize("path", OPTIONAL_PATHS, ids=lambda p: ".".join(map(str, p)))
def test_a_missing_optional_field_is_accepted(path: tuple[Any, ...]) -> None:
    document = full_document()
    CampaignContext.model_validate(without(document, _resolve(document, path)))


@pytest.mark.parametrize("value", ["manual", "scheduled", "api"])
def test_every_trigger_type_of_the_contract_is_accepted(value: str) -> None:
    ctx = CampaignContext.model_validate(with_change(minimal_document(), ("trigger", "type"), value))
    assert ctx.model_dump(mode="json", by_alias=True)["trigger"]["type"] == value


@pytest.mark.parametrize("value", ["cron", "Manual", "MANUAL", "", "webhook"])
def test_a_trigger_type_outside_the_contract_is_rejected(value: str) -> None:
    assert_rejected_naming(with_change(minimal_document(), ("trigger", "type"), value), "type")


@pytest.mark.parametrize("value", ["passed", "failed", "warning"])
def test_every_quality_status_of_the_contract_is_accepted(value: str) -> None:
    ctx = CampaignContext.model_validate(
        with_change(full_document(), ("computed", "qualityChecks", 0, "status"), value)
    )
    assert ctx.model_dump(mode="json", by_alias=True)["computed"]["qualityChecks"][0]["status"] == value


@pytest.mark.parametrize("value", ["ok", "error", "Passed", "", "skipped"])
def test_a_quality_status_outside_the_contract_is_rejected(value: str) -> None:
    assert_rejected_naming(with_change(full_document(), ("computed", "qualityChecks", 0, "status"), value), "status")


@pytest.mark.parametrize("field", ["type", "stepId"])
def test_an_empty_artifact_type_or_step_id_is_rejected(field: str) -> None:
    document = full_document()
    assert_rejected_naming(with_change(document, ("artifacts", _first_artifact_id(document), field), ""), field)


def test_an_unknown_field_is_rejected_rather_than_silently_dropped() -> None:
    assert_rejected_naming(with_change(minimal_document(), ("status",), "done"), "status")


def test_a_payload_that_is_not_an_object_is_rejected() -> None:
    assert_rejected_naming(with_change(minimal_document(), ("trigger", "payload"), ["brief"]), "payload")
