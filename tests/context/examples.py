"""Hand-written context documents: the smallest valid one and one with every optional field set."""

from __future__ import annotations

import copy
import uuid
from typing import Any

from context.models import StandardArtifactType
from context.registry import ref_name_for

HASH = "0123456789abcdef" * 4
TIMESTAMP = "2026-11-24T10:15:30.123Z"
CAMPAIGN_ID = "5b0f1d3c-8a4e-4b6f-9c2d-7e1a0b3c4d5e"
RUN_ID = "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a"


def minimal_document() -> dict[str, Any]:
    """Only the required fields, as `create()` writes them before any step ran."""
    return {
        "campaignId": CAMPAIGN_ID,
        "runId": RUN_ID,
        "workflowName": "spring-campaign",
        "trigger": {"type": "manual", "timestamp": TIMESTAMP},
        "refs": {},
        "artifacts": {},
    }


def artifact_document(artifact_type: str = "plan", **overrides: Any) -> dict[str, Any]:
    """An artifact with every optional field set."""
    document = {
        "type": artifact_type,
        "uri": f"file:///var/artifacts/{artifact_type}.bin",
        "hash": HASH,
        "metadata": {"width": 1024, "note": None},
        "createdAt": TIMESTAMP,
        "stepId": artifact_type,
    }
    return {**document, **overrides}


def full_document() -> dict[str, Any]:
    """Every optional field set at every level, every standard ref plus a custom one populated."""
    types = [t.value for t in StandardArtifactType] + ["custom_asset"]
    ids = {t: str(uuid.uuid5(uuid.NAMESPACE_URL, t)) for t in types}
    document = minimal_document()
    document["trigger"] = {
        "type": "api",
        "payload": {"brief": "spring sale", "budget": None, "tags": ["a", None]},
        "timestamp": "2026-11-24T11:15:30.123+01:00",
        "initiatedBy": "user-42",
    }
    document["refs"] = {ref_name_for(t): ids[t] for t in types}
    document["artifacts"] = {ids[t]: artifact_document(t) for t in types}
    document["computed"] = {
        "inputHashesByStep": {"plan": HASH},
        "qualityChecks": [
            {
                "artifactId": ids["intro_image"],
                "checkType": "resolution",
                "status": "warning",
                "message": "below 1080p",
                "timestamp": TIMESTAMP,
                "details": {"height": 720, "expected": None},
            }
        ],
    }
    return document


def with_change(document: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    """A deep copy of `document` with the value at `path` replaced (or the key added)."""
    changed = copy.deepcopy(document)
    parent = changed
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = value
    return changed


def without(document: dict[str, Any], path: tuple[Any, ...]) -> dict[str, Any]:
    """A deep copy of `document` with the key at `path` removed."""
    changed = copy.deepcopy(document)
    parent = changed
    for key in path[:-1]:
        parent = parent[key]
    del parent[path[-1]]
    return changed


def value_at(document: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        document = document[key]
    return document
