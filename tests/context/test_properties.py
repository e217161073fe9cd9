"""Properties over generated documents: validation fails only with ValidationError; valid contexts round-trip."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from context.models import CampaignContext
from tests.context.examples import full_document, minimal_document
from tests.strategies import campaign_contexts, json_objects, json_values, mutated_documents

FREE_FORM = {"payload", "metadata", "details"}
CONTEXT_KEYS = ["campaignId", "runId", "workflowName", "trigger", "refs", "artifacts", "computed"]


def validate_or_validation_error(document: Any) -> CampaignContext | None:
    """Any other exception escapes and fails the test."""
    try:
        return CampaignContext.model_validate(document)
    except ValidationError:
        return None


def assert_round_trips(ctx: CampaignContext) -> None:
    text = ctx.model_dump_json(by_alias=True, exclude_none=True)
    again = CampaignContext.model_validate_json(text)
    assert again == ctx
    assert again.model_dump_json(by_alias=True, exclude_none=True) == text


def nulls_outside_free_form(document: Any, path: str = "") -> list[str]:
    if isinstance(document, dict):
        return [p for k, v in document.items() if k not in FREE_FORM for p in nulls_outside_free_form(v, f"{path}.{k}")]
    if isinstance(document, list):
        return [p for i, v in enumerate(document) for p in nulls_outside_free_form(v, f"{path}[{i}]")]
    return [path] if document is None else []


@given(json_values)
def test_arbitrary_json_is_either_a_context_or_a_validation_error(document: Any) -> None:
    validate_or_validation_error(document)


@given(st.fixed_dictionaries({}, optional={key: json_values for key in CONTEXT_KEYS}))
def test_arbitrary_values_under_the_context_keys_only_raise_validation_error(document: dict[str, Any]) -> None:
    validate_or_validation_error(document)


@given(st.sampled_from([minimal_document, full_document]), json_objects)
def test_a_valid_document_with_extra_top_level_keys_only_raises_validation_error(
    make: Any, extra: dict[str, Any]
) -> None:
    ctx = validate_or_validation_error({**make(), **extra})
    if ctx is None:
        return
    assert set(extra) <= set(CONTEXT_KEYS)  # only a known key can be added and still validate


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])  # near misses must reach every validator
@given(mutated_documents())
def test_a_mutated_context_document_is_either_valid_and_round_trips_or_a_validation_error(document: Any) -> None:
    ctx = validate_or_validation_error(document)
    if ctx is not None:
        assert_round_trips(ctx)


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(campaign_contexts())
def test_a_context_survives_a_json_round_trip(ctx: CampaignContext) -> None:
    assert_round_trips(ctx)
    assert CampaignContext.model_validate(ctx.to_json_dict()) == ctx


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(campaign_contexts())
def test_a_dumped_context_has_no_nulls_outside_free_form_objects(ctx: CampaignContext) -> None:
    assert nulls_outside_free_form(ctx.to_json_dict()) == []
