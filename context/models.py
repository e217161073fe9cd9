"""The campaign context contract: pydantic models whose JSON is the TypeScript interfaces' JSON."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema
from pydantic.alias_generators import to_camel

MAX_WORKFLOW_NAME = 255
MAX_URI = 2048


# The 8-4-4-4-12 form class-validator's IsUUID reads; uuid.UUID() alone also takes "urn:uuid:", braces,
# no hyphens, and (through int()) "+", "_" and non-ASCII digits, none of which the TypeScript side accepts.
_UUID_TEXT = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def _uuid_text(v: str) -> str:
    if not _UUID_TEXT.fullmatch(v):
        raise ValueError(f"{v!r} is not a UUID")
    return v


# RFC 3339, the ISO 8601 profile JavaScript's Date parses everywhere: Python alone would also take week dates,
# the compact form or a space for the T, which the TypeScript side would read as Invalid Date.
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$")


def _iso_timestamp(v: str) -> str:
    if not _RFC3339.match(v):
        # A timestamp without an offset is read as local time by the TypeScript side, so the offset is required.
        raise ValueError(f"{v!r} is not an ISO 8601 timestamp with an offset, like 2026-11-24T10:15:30.123Z")
    try:
        datetime.fromisoformat(v)
    except ValueError:
        raise ValueError(f"{v!r} is not a valid date and time") from None
    return v


# JSON Schema (ECMAScript regex) forms of the two checks above, for the generated schemas (docs/schema/).
UUID_PATTERN = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
TIMESTAMP_PATTERN = (
    "^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
    "(\\.[0-9]{1,6})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$"
)

# Kept as the exact text given so a context read from the database dumps back byte for byte.
UuidStr = Annotated[
    str, AfterValidator(_uuid_text), WithJsonSchema({"type": "string", "format": "uuid", "pattern": UUID_PATTERN})
]
Timestamp = Annotated[
    str,
    AfterValidator(_iso_timestamp),
    WithJsonSchema({"type": "string", "format": "date-time", "pattern": TIMESTAMP_PATTERN}),
]
Sha256Hex = Annotated[str, Field(pattern=r"^[0-9a-fA-F]{64}$")]
JsonObject = dict[str, Any]


def utc_now_iso() -> str:
    """Now, written as JavaScript's toISOString() writes it (millisecond precision, Z suffix)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class TriggerType(StrEnum):
    MANUAL = "manual"
    SCHEDULED = "scheduled"
    API = "api"


class QualityStatus(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    WARNING = "warning"


class StandardArtifactType(StrEnum):
    PLAN = "plan"
    INTRO_IMAGE = "intro_image"
    INTRO_VIDEO = "intro_video"
    BUTTON_SEGMENTATION = "button_segmentation"
    BGM = "bgm"
    SFX = "sfx"
    AUDIO_MANIFEST = "audio_manifest"
    GAME_CONFIG = "game_config"
    GAME_BUNDLE = "game_bundle"
    OUTCOME_WIN_VIDEO = "outcome_win_video"
    OUTCOME_LOSE_VIDEO = "outcome_lose_video"
    CAMPAIGN_MANIFEST = "campaign_manifest"


class ContractModel(BaseModel):
    """camelCase on the wire, snake_case in Python; unknown keys are an error, not silently dropped."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class TriggerInfo(ContractModel):
    type: TriggerType
    payload: JsonObject | None = None
    timestamp: Timestamp
    initiated_by: str | None = None


class ArtifactData(ContractModel):
    type: Annotated[str, Field(min_length=1)]
    uri: Annotated[str, Field(min_length=1, max_length=MAX_URI)]
    hash: Sha256Hex
    metadata: JsonObject | None = None
    created_at: Timestamp
    step_id: Annotated[str, Field(min_length=1)]


class QualityCheckResult(ContractModel):
    artifact_id: UuidStr
    check_type: Annotated[str, Field(min_length=1)]
    status: QualityStatus
    message: str | None = None
    timestamp: Timestamp
    details: JsonObject | None = None


class ComputedData(ContractModel):
    # Both required, as in the TypeScript interface: `computed` present means both maps are there.
    input_hashes_by_step: dict[str, str]
    quality_checks: list[QualityCheckResult]


class CampaignContext(ContractModel):
    campaign_id: UuidStr
    run_id: UuidStr
    workflow_name: Annotated[str, Field(min_length=1, max_length=MAX_WORKFLOW_NAME)]
    trigger: TriggerInfo
    # Ref names are the JSON keys ("planArtifactId", custom ones too), so refs stay a plain mapping.
    refs: dict[str, UuidStr]
    artifacts: dict[UuidStr, ArtifactData]
    computed: ComputedData | None = None

    def copy_to_grow(self) -> CampaignContext:
        """A copy whose maps and lists (refs, artifacts, computed) are its own, to add to, replace in and remove
        from without touching this one. The artifacts and checks in them are shared: they are replaced, never
        changed in place. A deep copy of the whole document cost more than the rest of a no-op step."""
        computed = self.computed
        if computed is not None:
            computed = computed.model_copy(
                update={
                    "input_hashes_by_step": dict(computed.input_hashes_by_step),
                    "quality_checks": list(computed.quality_checks),
                }
            )
        own = {"refs": dict(self.refs), "artifacts": dict(self.artifacts), "computed": computed}
        return self.model_copy(update=own)

    def to_json_dict(self) -> dict[str, Any]:
        """The JSON document stored in runs.context and passed between tasks."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class StepArtifact(BaseModel):
    """What a step hands to attach_step_result: the artifact without the fields attach stamps."""

    model_config = ConfigDict(extra="forbid")

    type: Annotated[str, Field(min_length=1)]
    uri: Annotated[str, Field(min_length=1, max_length=MAX_URI)]
    hash: Sha256Hex
    metadata: JsonObject | None = None
    artifact_id: UuidStr | None = None
    ref_name: str | None = None
