"""Input hashes: what a step's output depends on, so an update can tell what changed.

The document is canonicalised with RFC 8785 (JSON Canonicalization Scheme), so any language with a JCS
library recomputes the same hash: `"jcs-sha256:" + hex(sha256(JCS({"step", "version", "params", "inputs"})))`.
The prefix marks the scheme inside the contract's plain `inputHashesByStep` strings; a hash without it was
written by the earlier, Python-only scheme (sorted-key json.dumps) and is never compared, only replaced.
"""

from __future__ import annotations

import hashlib
from typing import Any

import rfc8785

SCHEME = "jcs-sha256"
PREFIX = f"{SCHEME}:"
LEGACY_SCHEME_REASON = "hashed by the earlier (pre-RFC 8785) scheme; re-executed so it is hashed the new way"


def canonical_json(value: Any) -> bytes:
    """RFC 8785: keys sorted by UTF-16 code units, ECMAScript number form, no whitespace, UTF-8."""
    return rfc8785.dumps(value)


def input_hash(*, step_id: str, version: str, params: dict[str, Any], inputs: dict[str, str]) -> str:
    """`jcs-sha256:` + sha256 of {"step", "version", "params", "inputs": {refName: artifact hash}} in JCS."""
    document = {"step": step_id, "version": version, "params": params, "inputs": inputs}
    return PREFIX + hashlib.sha256(canonical_json(document)).hexdigest()


def is_current_scheme(stored_hash: str) -> bool:
    """Whether a stored input hash was computed by this scheme, so comparing it with a new one means something."""
    return stored_hash.startswith(PREFIX)
