"""Quality checks run on every artifact a step produces: integrity, format, size, schema."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from typing import Any

import jsonschema

from context.models import ArtifactData, QualityCheckResult, QualityStatus, utc_now_iso
from pipeline.media.formats import sniff
from pipeline.store import sha256_hex

MAX_BYTES = 50 * 1024 * 1024
WARN_BYTES = 10 * 1024 * 1024

EXPECTED_FORMAT = {
    "plan": "json",
    "intro_image": "png",
    "intro_video": "gif",
    "button_segmentation": "json",
    "bgm": "wav",
    "sfx": "wav",
    "audio_manifest": "json",
    "game_config": "json",
    "game_bundle": "zip",
    "outcome_win_video": "gif",
    "outcome_lose_video": "gif",
    "campaign_manifest": "json",
}

_BOX = {
    "type": "object",
    "required": ["x", "y", "width", "height"],
    "properties": {k: {"type": "integer", "minimum": 0} for k in ("x", "y", "width", "height")},
}
SCHEMAS: dict[str, dict[str, Any]] = {
    "plan": {
        "type": "object",
        "required": ["title", "palette", "buttons"],
        "properties": {
            "title": {"type": "string", "minLength": 1},
            "palette": {"type": "array", "minItems": 1, "items": {"type": "string", "pattern": "^#[0-9a-fA-F]{6}$"}},
            "buttons": {"type": "array", "minItems": 1},
        },
    },
    "button_segmentation": {
        "type": "object",
        "required": ["buttons"],
        "properties": {"buttons": {"type": "array", "items": _BOX}},
    },
    "audio_manifest": {"type": "object", "required": ["bgm", "sfx"]},
    "game_config": {
        "type": "object",
        "required": ["title", "buttons"],
        "properties": {"buttons": {"type": "array", "minItems": 1, "items": _BOX}},
    },
    "campaign_manifest": {"type": "object", "required": ["artifacts"]},
}


def _result(artifact_id: str, check: str, status: QualityStatus, message: str, **details: Any) -> QualityCheckResult:
    return QualityCheckResult(
        artifact_id=artifact_id,
        check_type=check,
        status=status,
        message=message,
        timestamp=utc_now_iso(),
        details=details or None,
    )


def integrity_failure(artifact_id: str, problem: str) -> QualityCheckResult:
    """The failed integrity check of an artifact whose stored bytes could not be read back intact."""
    return _result(artifact_id, "integrity", QualityStatus.FAILED, problem)


def check_artifact(
    artifact_id: str, artifact: ArtifactData, data: bytes, formats: tuple[str, ...] | None = None
) -> list[QualityCheckResult]:
    """All checks for one artifact, given the bytes read back from the store; `formats` are the allowed ones."""
    passed, failed, warning = QualityStatus.PASSED, QualityStatus.FAILED, QualityStatus.WARNING
    actual = sha256_hex(data)
    results = [
        _result(artifact_id, "integrity", passed, "stored bytes match the hash")
        if actual == artifact.hash.lower()
        else _result(artifact_id, "integrity", failed, "stored bytes do not match the hash", actual=actual)
    ]
    size = len(data)
    if size == 0 or size > MAX_BYTES:
        results.append(_result(artifact_id, "size", failed, f"{size} bytes is outside 1..{MAX_BYTES}", bytes=size))
    elif size > WARN_BYTES:
        results.append(_result(artifact_id, "size", warning, f"{size} bytes is unusually large", bytes=size))
    else:
        results.append(_result(artifact_id, "size", passed, f"{size} bytes", bytes=size))
    if formats is None:
        default = EXPECTED_FORMAT.get(artifact.type)
        formats = () if default is None else (default,)
    if not formats:
        return results  # a custom type: nothing more is known about its content
    found = sniff(data)
    if found not in formats:
        expected = " or ".join(formats)
        results.append(_result(artifact_id, "format", failed, f"expected {expected}, found {found}", found=found))
        return results
    results.append(_result(artifact_id, "format", passed, f"valid {found}"))
    results.extend(_content_checks(artifact_id, artifact.type, data))
    return results


def _content_checks(artifact_id: str, artifact_type: str, data: bytes) -> list[QualityCheckResult]:
    check = _CONTENT.get(artifact_type)
    return check(artifact_id, data) if check else []


def _schema_check(artifact_type: str) -> Callable[[str, bytes], list[QualityCheckResult]]:
    # Built once: jsonschema.validate() would check the schema and build a validator on every call.
    validator = jsonschema.Draft202012Validator(SCHEMAS[artifact_type])

    def run(artifact_id: str, data: bytes) -> list[QualityCheckResult]:
        document = json.loads(data)
        try:
            validator.validate(document)
        except jsonschema.ValidationError as e:
            where = "/".join(str(p) for p in e.absolute_path) or "(root)"
            return [_result(artifact_id, "schema", QualityStatus.FAILED, f"{where}: {e.message}")]
        results = [_result(artifact_id, "schema", QualityStatus.PASSED, f"matches the {artifact_type} schema")]
        if artifact_type == "button_segmentation" and not document["buttons"]:
            results.append(_result(artifact_id, "content", QualityStatus.WARNING, "no buttons were found in the image"))
        return results

    return run


def _bundle_check(artifact_id: str, data: bytes) -> list[QualityCheckResult]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = zf.namelist()
        bad = zf.testzip()
        # A manifest.json is optional (custom generators may not write one); when present it must be true.
        mismatched = _manifest_mismatches(zf) if bad is None and "manifest.json" in names else []
    problem = None
    if bad is not None:
        problem = f"corrupt entry {bad}"
    elif "index.html" not in names:
        problem = "no index.html"
    elif mismatched:
        problem = f"manifest.json does not match {', '.join(mismatched)}"
    if problem:
        return [_result(artifact_id, "bundle", QualityStatus.FAILED, problem, entries=names)]
    return [
        _result(artifact_id, "bundle", QualityStatus.PASSED, f"{len(names)} entries with index.html", entries=names)
    ]


def _manifest_mismatches(zf: zipfile.ZipFile) -> list[str]:
    """Files whose sha256 differs from what manifest.json says, or that only one of the two names."""
    try:
        listed = json.loads(zf.read("manifest.json"))["files"]
        expected = {name: entry["sha256"] for name, entry in listed.items()}
    except (ValueError, KeyError, TypeError, AttributeError):
        return ["manifest.json (unreadable)"]
    actual = {n: sha256_hex(zf.read(n)) for n in zf.namelist() if n != "manifest.json"}
    return sorted(n for n in expected.keys() | actual.keys() if expected.get(n) != actual.get(n))


_CONTENT: dict[str, Callable[[str, bytes], list[QualityCheckResult]]] = {
    **{t: _schema_check(t) for t in SCHEMAS},
    "game_bundle": _bundle_check,
}
