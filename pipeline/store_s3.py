"""Content-addressed artifacts in any S3-compatible service (AWS S3, MinIO, R2, GCS's S3 API), through boto3.

Same semantics as LocalArtifactStore: objects live once at <prefix>/<aa>/<sha256><suffix>, a put of bytes
already stored writes nothing, every read hashes what came back. Endpoint, keys and region come from the
standard AWS environment variables (AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, ...), which boto3 reads itself.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlparse

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from context.models import MAX_URI
from pipeline.errors import ArtifactIntegrityError, PipelineError, UnsafeArtifactUriError
from pipeline.store import OBJECT_NAME, ListedObject, StoredObject, check_suffix, sha256_hex

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

# Objects re-put after this long get a fresh LastModified, so `campaign gc` spares bytes a new run reuses.
REFRESH_AFTER = timedelta(hours=1)
_MISSING = {"404", "NoSuchKey", "NotFound"}
# Bucket names per the S3 rules (3-63 lowercase letters, digits, dots, hyphens).
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


class S3ArtifactStore:
    """`s3://bucket/prefix/<aa>/<sha256><suffix>` objects; the sha256 is also kept in the object's metadata."""

    def __init__(self, url: str, *, client_config: Config | None = None) -> None:
        parsed = urlparse(url)
        if parsed.scheme != "s3" or not _BUCKET.match(parsed.netloc):
            raise PipelineError(f"artifact url {url!r} must look like s3://bucket/prefix")
        self.bucket, self.prefix = parsed.netloc, parsed.path.strip("/")
        # SigV4 for presigned links: every S3-compatible service accepts it, AWS requires it in newer regions.
        self._config = client_config or Config(signature_version="s3v4", retries={"mode": "standard"})
        self._client_pid: int | None = None
        self._s3: S3Client | None = None

    @property
    def root(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}".rstrip("/")

    @property
    def client(self) -> S3Client:
        # One client per process: a prefork child must not share the parent's pooled connections.
        if self._s3 is None or self._client_pid != os.getpid():
            self._s3 = boto3.session.Session().client("s3", config=self._config)
            self._client_pid = os.getpid()
        return self._s3

    def _key(self, name: str) -> str:
        return f"{self.prefix}/{name}" if self.prefix else name

    def key_of(self, uri: str) -> str:
        """The object key behind `uri`, refusing other buckets and anything but a name this store writes."""
        parsed = urlparse(uri)
        key = parsed.path.lstrip("/")
        name = key[len(self.prefix) + 1 :] if self.prefix else key
        if (
            parsed.scheme != "s3"
            or parsed.netloc != self.bucket
            or parsed.query
            or parsed.fragment
            or key != self._key(name)
            or not OBJECT_NAME.match(name)
        ):
            raise UnsafeArtifactUriError(uri, self.root)
        return key

    def put(self, data: bytes, suffix: str) -> StoredObject:
        check_suffix(suffix)
        digest = sha256_hex(data)
        key = self._key(f"{digest[:2]}/{digest}{suffix}")
        uri = f"s3://{self.bucket}/{key}"
        if len(uri) > MAX_URI:
            raise ValueError(f"artifact url {self.root} makes URIs longer than {MAX_URI} characters")
        modified = self._held_since(key, digest)
        if modified is None:
            self.client.put_object(
                Bucket=self.bucket, Key=key, Body=data, Metadata={"sha256": digest}, ContentLength=len(data)
            )
        elif datetime.now(UTC) - modified > REFRESH_AFTER:
            self.client.copy_object(
                Bucket=self.bucket,
                Key=key,
                CopySource={"Bucket": self.bucket, "Key": key},
                Metadata={"sha256": digest},
                MetadataDirective="REPLACE",
            )
        return StoredObject(uri=uri, hash=digest, size=len(data))

    def _held_since(self, key: str, digest: str) -> datetime | None:
        """When the object at `key` was written, if it holds exactly these bytes; None means (re)write it."""
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=key)
        except ClientError as e:
            if _code(e) in _MISSING:
                return None
            raise
        # Hash what is there, as the local store does: a corrupt copy is rewritten, not trusted.
        if sha256_hex(body["Body"].read()) != digest:
            return None
        return body["LastModified"]

    def read(self, uri: str, expected_hash: str) -> bytes:
        key = self.key_of(uri)
        try:
            data = self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except ClientError as e:
            if _code(e) in _MISSING:
                raise ArtifactIntegrityError(uri, "stored bytes are missing") from e
            raise
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
        """A presigned GET URL: anyone holding it can fetch the object until it expires, without credentials."""
        return self.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": self.key_of(uri)}, ExpiresIn=expires_s
        )

    def objects(self) -> Iterator[ListedObject]:
        start = f"{self.prefix}/" if self.prefix else ""
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=start):
            for obj in page.get("Contents", []):
                if OBJECT_NAME.match(obj["Key"][len(start) :]):
                    yield ListedObject(f"s3://{self.bucket}/{obj['Key']}", obj["LastModified"], obj["Size"])

    def delete(self, uri: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.key_of(uri))


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))
