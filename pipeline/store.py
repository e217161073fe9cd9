"""Content-addressed artifact store: bytes live once under their sha256, under one root."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlparse

from context.models import MAX_URI
from pipeline.errors import ArtifactIntegrityError, UnsafeArtifactUriError

_SUFFIX = re.compile(r"^\.[a-z0-9]{1,8}$")
# <aa>/<sha256><suffix>, relative to the store's root or prefix: the only names a store ever writes.
OBJECT_NAME = re.compile(r"^([0-9a-f]{2})/\1[0-9a-f]{62}\.[a-z0-9]{1,8}$")


@dataclass(frozen=True)
class StoredObject:
    uri: str
    hash: str
    size: int


@dataclass(frozen=True)
class ListedObject:
    """One object found in a store, for cleanup: its URI and when it was last written (or re-put)."""

    uri: str
    modified: datetime
    size: int


class ArtifactStore(Protocol):
    """What the pipeline needs of a store; LocalArtifactStore and pipeline.store_s3.S3ArtifactStore implement it."""

    def put(self, data: bytes, suffix: str) -> StoredObject: ...

    def read(self, uri: str, expected_hash: str) -> bytes: ...

    def verify(self, uri: str, expected_hash: str) -> bool: ...

    def link(self, uri: str, expires_s: int) -> str:
        """A URL someone without the store's credentials can fetch `uri` from, for `expires_s` seconds."""
        ...

    def objects(self) -> Iterator[ListedObject]:
        """Every artifact object in the store (nothing else that happens to be under its root)."""
        ...

    def delete(self, uri: str) -> None: ...


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check_suffix(suffix: str) -> None:
    if not _SUFFIX.match(suffix):
        raise ValueError(f"artifact suffix {suffix!r} must look like '.png' (1-8 lowercase letters/digits)")


class LocalArtifactStore:
    """`file://` objects at <root>/<aa>/<sha256><suffix>; writing the same bytes twice stores them once."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def put(self, data: bytes, suffix: str) -> StoredObject:
        check_suffix(suffix)
        digest = sha256_hex(data)
        path = self.root / digest[:2] / f"{digest}{suffix}"
        if not self._holds(path, digest):
            path.parent.mkdir(parents=True, exist_ok=True)
            # Write then rename: two workers storing the same bytes never expose a half-written file.
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        else:
            # Re-putting known bytes makes them young again, so `campaign gc` spares an object a new run just reused.
            os.utime(path)
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

    def link(self, uri: str, expires_s: int) -> str:
        """A local store has no server to sign for: the link is the file's path, readable on this host only."""
        return str(self.path_of(uri))

    def objects(self) -> Iterator[ListedObject]:
        for path in sorted(self.root.glob("??/*")):
            name = path.relative_to(self.root).as_posix()
            if OBJECT_NAME.match(name) and path.is_file() and not path.is_symlink():
                stat = path.stat()
                yield ListedObject(path.as_uri(), datetime.fromtimestamp(stat.st_mtime, UTC), stat.st_size)

    def delete(self, uri: str) -> None:
        self.path_of(uri).unlink(missing_ok=True)
