"""Input hashes: what a step's output depends on, so an update can tell what changed."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical_json(value: Any) -> str:
    """Sorted keys and no spaces, so two workers that built `params` in a different order agree on the hash."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def input_hash(*, step_id: str, version: str, params: dict[str, Any], inputs: dict[str, str]) -> str:
    """sha256 of {"step", "version", "params", "inputs": {refName: artifact hash}} in canonical JSON."""
    document = {"step": step_id, "version": version, "params": params, "inputs": inputs}
    return hashlib.sha256(canonical_json(document).encode()).hexdigest()
