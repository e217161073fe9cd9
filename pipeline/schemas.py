"""JSON Schemas (2020-12) generated from the models: the context, a run request, a run event.

Committed under docs/schema/ (`campaign schema NAME > docs/schema/NAME.schema.json`); a test fails when the
files drift from the models. Optional fields are "absent or a value", never null, as in the TypeScript
interfaces: the stored JSON never holds a null where a field is optional.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, create_model

from context.events import RunEvent
from context.models import UUID_PATTERN, CampaignContext
from pipeline.launch import RunRequest
from pipeline.param_models import DEFAULT_PAYLOAD

SchemaName = Literal["context", "request", "event"]
SCHEMA_NAMES: tuple[SchemaName, ...] = ("context", "request", "event")
DIALECT = "https://json-schema.org/draft/2020-12/schema"

# The request as the default workflow reads it: the payload typed by the default steps' params models.
TypedRunRequest = create_model(
    "RunRequest",
    __base__=RunRequest,
    __doc__=RunRequest.__doc__,
    payload=(DEFAULT_PAYLOAD, Field(default_factory=dict)),
)

_MODELS: dict[str, type[BaseModel]] = {"context": CampaignContext, "request": TypedRunRequest, "event": RunEvent}


def json_schema(name: SchemaName) -> dict[str, Any]:
    schema = _MODELS[name].model_json_schema(by_alias=True, mode="validation")
    _optional_means_absent(schema)
    if name == "context":
        _as_the_interfaces_say(schema)
    return {"$schema": DIALECT, "$id": f"https://campaign-pipeline.local/schema/{name}.schema.json", **schema}


def _as_the_interfaces_say(schema: dict[str, Any]) -> None:
    """Where the model reads input more leniently than the interfaces allow, the schema follows the interfaces."""
    # ComputedData declares both lists required; the model fills in a missing one, and always writes both.
    schema["$defs"]["ComputedData"]["required"] = ["inputHashesByStep", "qualityChecks"]
    # ArtifactMap is keyed by artifact UUID: any other key is refused, as the model refuses it.
    artifacts = schema["properties"]["artifacts"]
    artifact = next(iter(artifacts.pop("patternProperties").values()))
    artifacts["propertyNames"] = {"pattern": UUID_PATTERN}
    artifacts["additionalProperties"] = artifact


def _optional_means_absent(node: Any) -> None:
    """Drop the `null` branch pydantic adds to `X | None = None` fields, and their `"default": null`."""
    if isinstance(node, list):
        for item in node:
            _optional_means_absent(item)
        return
    if not isinstance(node, dict):
        return
    properties = node.get("properties")
    if isinstance(properties, dict):
        required = set(node.get("required", []))
        for key, prop in properties.items():
            if key in required or not isinstance(prop, dict) or prop.get("default", ...) is not None:
                continue
            branches = [b for b in prop.get("anyOf", []) if b != {"type": "null"}]
            if "anyOf" in prop and len(branches) == 1:
                del prop["anyOf"]
                prop.update(branches[0])
            elif "anyOf" in prop:
                prop["anyOf"] = branches
            del prop["default"]
    for value in node.values():
        _optional_means_absent(value)
