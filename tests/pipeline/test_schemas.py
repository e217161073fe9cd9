"""The committed JSON Schemas are the models' schemas, and the context schema accepts what the contract does."""

from __future__ import annotations

import copy
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from pydantic import ValidationError

from context.events import run_event
from context.models import CampaignContext
from pipeline.launch import RunRequest
from pipeline.schemas import SCHEMA_NAMES, json_schema
from tests.context.examples import full_document, minimal_document, with_change, without

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "docs" / "schema"
UUID = "3f2b1c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"


def validator(name: str) -> Draft202012Validator:
    schema = json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_the_committed_schema_is_what_the_models_generate(name: str) -> None:
    committed = json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text())
    assert committed == json_schema(name), f"regenerate: campaign schema {name} > docs/schema/{name}.schema.json"


def _artifact_key(document: dict[str, Any]) -> str:
    return next(iter(document["artifacts"]))


def _valid_contexts() -> list[dict[str, Any]]:
    full = full_document()
    key = _artifact_key(full)
    return [
        minimal_document(),
        full,
        with_change(minimal_document(), ("runId",), UUID.upper()),
        with_change(full, ("trigger", "timestamp"), "2026-11-24T04:45:30.123456-05:30"),
        with_change(full, ("artifacts", key, "createdAt"), "2026-11-24T10:15:30Z"),
        with_change(minimal_document(), ("refs",), {"anyCustomArtifactId": UUID}),
        without(full, ("trigger", "payload")),
        without(full, ("computed", "qualityChecks", 0, "details")),
        with_change(full, ("computed", "qualityChecks"), []),
    ]


def _invalid_contexts() -> list[dict[str, Any]]:
    full = full_document()
    key = _artifact_key(full)
    bad_ids = ["not-a-uuid", UUID.replace("-", ""), "{" + UUID + "}", "urn:uuid:" + UUID, UUID + "0", ""]
    bad_times = ["2026-11-24T10:15:30", "2026-11-24", "2026-13-01T00:00:00Z", "2026-11-24 10:15:30Z", "yesterday"]
    cases = [with_change(minimal_document(), ("campaignId",), v) for v in bad_ids]
    cases += [with_change(minimal_document(), ("refs",), {"planArtifactId": v}) for v in bad_ids]
    cases += [with_change(minimal_document(), ("trigger", "timestamp"), v) for v in bad_times]
    cases += [
        with_change(full, ("artifacts", key, "hash"), "abc"),
        with_change(full, ("artifacts", key, "uri"), "u" * 2049),
        with_change(full, ("artifacts", key, "type"), ""),
        with_change(minimal_document(), ("workflowName",), "w" * 256),
        with_change(minimal_document(), ("trigger", "type"), "cron"),
        with_change(full, ("computed", "qualityChecks", 0, "status"), "ok"),
        with_change(minimal_document(), ("status",), "done"),
        with_change(minimal_document(), ("trigger", "payload"), ["brief"]),
        with_change(minimal_document(), ("artifacts",), {"not-a-uuid": full["artifacts"][key]}),
        with_change(full, ("artifacts", key, "extra"), 1),
        without(minimal_document(), ("refs",)),
        without(full, ("artifacts", key, "stepId")),
    ]
    return cases


def _model_accepts(document: dict[str, Any]) -> bool:
    try:
        CampaignContext.model_validate(document)
    except ValidationError:
        return False
    return True


@pytest.mark.parametrize("document", _valid_contexts())
def test_the_context_schema_accepts_what_the_contract_accepts(document: dict[str, Any]) -> None:
    assert _model_accepts(document)
    assert list(validator("context").iter_errors(document)) == []


@pytest.mark.parametrize("document", _invalid_contexts())
def test_the_context_schema_refuses_what_the_contract_refuses(document: dict[str, Any]) -> None:
    assert not _model_accepts(document)
    assert list(validator("context").iter_errors(document)) != []


@pytest.mark.parametrize(
    "path", [("trigger", "payload"), ("trigger", "initiatedBy"), ("computed",)], ids=lambda p: ".".join(p)
)
def test_an_optional_field_is_absent_or_a_value_never_null_as_in_typescript(path: tuple[str, ...]) -> None:
    # The model reads a null leniently (and never writes one); the schema follows the interface: `x?: T`.
    document = with_change(full_document(), path, None)
    assert list(validator("context").iter_errors(document)) != []


def test_computed_needs_both_lists_as_the_interface_declares() -> None:
    document = with_change(minimal_document(), ("computed",), {"inputHashesByStep": {}})
    assert list(validator("context").iter_errors(document)) != []


def test_a_stored_context_and_an_event_validate_against_their_schemas() -> None:
    ctx = CampaignContext.model_validate(full_document()).to_json_dict()
    assert list(validator("context").iter_errors(ctx)) == []
    event = run_event(uuid.uuid4(), uuid.uuid4(), "step_finished", "executed", step="bgm", reason="inputs changed")
    assert list(validator("event").iter_errors(event.to_json())) == []
    assert list(validator("event").iter_errors({**event.to_json(), "kind": "exploded"})) != []


def test_the_request_schema_types_step_params_and_refuses_unknown_steps() -> None:
    request = RunRequest(tenant_id=uuid.uuid4(), payload={"brief": "x", "steps": {"bgm": {"tempo_bpm": 90}}})
    assert list(validator("request").iter_errors(request.to_json())) == []
    bad = copy.deepcopy(request.to_json())
    bad["payload"]["steps"] = {"bgm": {"tempo_bpm": "fast"}, "sparkles": {}}
    paths = {"/".join(map(str, e.absolute_path)) for e in validator("request").iter_errors(bad)}
    assert paths == {"payload/steps", "payload/steps/bgm/tempo_bpm"}
