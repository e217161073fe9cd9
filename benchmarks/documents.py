"""Realistic campaign context documents (the camelCase JSON stored in runs.context) of a chosen size."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from context.models import StandardArtifactType
from context.registry import ref_name_for
from pipeline.quality import EXPECTED_FORMAT

SUFFIX = {"json": ".json", "png": ".png", "gif": ".gif", "wav": ".wav", "zip": ".zip"}
CHECKS = ("integrity", "size", "format", "schema")


def context_document(n_artifacts: int, *, run_id: str | None = None, seed: int = 0) -> dict[str, Any]:
    """A completed run's context with `n_artifacts`: the 12 standard types first, then custom assets."""
    start = datetime(2025, 6, 1, 12, 0, tzinfo=UTC) + timedelta(days=seed)
    standard = [t.value for t in StandardArtifactType]
    artifacts: dict[str, Any] = {}
    refs: dict[str, str] = {}
    checks: list[dict[str, Any]] = []
    for i in range(n_artifacts):
        kind = standard[i] if i < len(standard) else "custom_asset"
        artifact_id = str(uuid.UUID(int=(seed << 64) + i + 1, version=4))
        digest = hashlib.sha256(f"{seed}/{i}".encode()).hexdigest()
        fmt = EXPECTED_FORMAT.get(kind, "png")
        created = _iso(start + timedelta(seconds=3 * i))
        artifacts[artifact_id] = {
            "type": kind,
            "uri": f"file:///var/lib/campaign/artifacts/{digest[:2]}/{digest}{SUFFIX[fmt]}",
            "hash": digest,
            "metadata": {"bytes": 20_000 + 731 * i, "mime": f"application/{fmt}", "width": 1080, "height": 1920},
            "createdAt": created,
            "stepId": kind if i < len(standard) else "custom_assets",
        }
        refs[ref_name_for(kind) if i < len(standard) else f"customAsset{i}ArtifactId"] = artifact_id
        for check in CHECKS:
            checks.append(
                {
                    "artifactId": artifact_id,
                    "checkType": check,
                    "status": "passed",
                    "message": f"{check} ok",
                    "timestamp": created,
                    "details": {"bytes": 20_000 + 731 * i} if check == "size" else None,
                }
            )
    for check in checks:
        if check["details"] is None:
            del check["details"]
    return {
        "campaignId": str(uuid.UUID(int=(seed << 64) + 10_000, version=4)),
        "runId": run_id or str(uuid.UUID(int=(seed << 64) + 20_000, version=4)),
        "workflowName": "campaign",
        "trigger": {
            "type": "api",
            "payload": {"brief": "Catch the falling stars", "steps": {"bgm": {"mood": "calm", "bpm": 96}}},
            "timestamp": _iso(start),
            "initiatedBy": "bench@example.com",
        },
        "refs": refs,
        "artifacts": artifacts,
        "computed": {
            "inputHashesByStep": {s: hashlib.sha256(f"in/{s}".encode()).hexdigest() for s in standard},
            "qualityChecks": checks,
        },
    }


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
