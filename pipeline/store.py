"""Content-addressed artifact store: bytes live once under their sha256, under one root."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlparse

from context.models import MAX_URI
from pipeline.errors import ArtifactIntegrityError, UnsafeArtifactUriError

_SUFFIX = re.compile(r"^\.[a-z0-9]{1,8}$")


@dataclass(frozen=True)
class StoredObject:
    uri: str
    hash: str
    size: int


class ArtifactStore(Protocol):
    """What the pipeline needs of a store; an S3 or GCS store implements the same three methods."""

    def put(self, data: bytes, suffix: str) -> StoredObject: ...

    def read(self, uri: str, expected_hash: str) -> bytes: ...

    def verify(self, uri: str, expected_hash: str) -> bool: ...


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class LocalArtifactStore:
    """`file://` objects at <root>/<aa>/<sha256><suffix>; writing the same bytes twice stores them once."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def put(self, data: bytes, suffix: str) -> StoredObject:
        if not _SUFFIX.match(suffix):
            raise ValueError(f"artifact suffix {suffix!r} must look like '.png' (1-8 lowercase letters/digits)")
        digest = sha256_hex(data)
        path = self.root / digest[:2] / f"{digest}{suffix}"
        if not self._holds(path, digest):
            path.parent.mkdir(parents=True, exist_ok=True)
            # Write then rename: two workers storing the same bytes never expose a half-written file.
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        uri = path.as_uri()
        if len(uri) > MAX_URI:
            raise ValueError(f"artifact root {self.root} makes URIs longer than {MAX_URI} characters")
        return StoredObject(uri=uri, hash=digest, size=len(data))

    @staticmethod
    def _holds(path: Path, digest: str) -> bool:
        """True when `path` already has these bytes; a corrupted copy is rewritten, not trusted."""
        try:
            return sha256_hex(path.read_bytes()) == digest
        except FileNotFoundError:
            return False

    def path_of(self, uri: str) -> Path:
        """The file behind `uri`, refusing anything that resolves outside the root (`..`, symlinks, other hosts)."""
        parsed = urlparse(uri)
        if parsed.scheme != "file" or parsed.netloc not in ("", "localhost"):
            raise UnsafeArtifactUriError(uri, str(self.root))
        path = Path(unquote(parsed.path)).resolve()
        if not path.is_relative_to(self.root):
            raise UnsafeArtifactUriError(uri, str(self.root))
        return path

    def read(self, uri: str, expected_hash: str) -> bytes:
        path = self.path_of(uri)
        try:
            data = path.read_bytes()
        except FileNotFoundError as e:
            raise ArtifactIntegrityError(uri, "stored bytes are missing") from e
        actual = sha256_hex(data)
        if actual != expected_hash.lower():
            raise ArtifactIntegrityError(uri, f"stored bytes hash to {actual}, expected {expected_hash}")
        return data

    def verify(self, uri: str, expected_hash: str) -> bool:
        try:
            self.read(uri, expected_hash)
        except ArtifactIntegrityError:
            return False
        return True
