"""The S3 store against a real S3-protocol server: the local store's semantics, links, listing, deletion."""

from __future__ import annotations

import hashlib
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from pipeline import store_s3
from pipeline.errors import ArtifactIntegrityError, PipelineError, UnsafeArtifactUriError
from pipeline.store import LocalArtifactStore
from pipeline.store_factory import open_store
from pipeline.store_s3 import S3ArtifactStore
from tests.s3_server import S3Server

DATA = b"\x89PNG pretend image bytes"


def _keys(server: S3Server, bucket: str) -> list[str]:
    return sorted(o["Key"] for o in server.client().list_objects_v2(Bucket=bucket).get("Contents", []))


def test_an_object_is_stored_under_its_sha256_with_its_suffix(
    s3_store: S3ArtifactStore, s3_env: S3Server, bucket: str
) -> None:
    stored = s3_store.put(DATA, ".png")
    digest = hashlib.sha256(DATA).hexdigest()

    key = f"campaigns/artifacts/{digest[:2]}/{digest}.png"
    assert stored.uri == f"s3://{bucket}/{key}"
    assert (stored.hash, stored.size) == (digest, len(DATA))
    obj = s3_env.client().get_object(Bucket=bucket, Key=key)
    assert obj["Body"].read() == DATA
    assert obj["Metadata"] == {"sha256": digest}


def test_the_same_bytes_are_written_once(s3_store: S3ArtifactStore, s3_env: S3Server, bucket: str) -> None:
    first = s3_store.put(DATA, ".png")
    written = s3_env.client().head_object(Bucket=bucket, Key=s3_store.key_of(first.uri))["ETag"]
    time.sleep(1.1)  # LastModified has one-second resolution
    second = s3_store.put(DATA, ".png")

    assert first == second
    assert _keys(s3_env, bucket) == [s3_store.key_of(first.uri)]
    head = s3_env.client().head_object(Bucket=bucket, Key=s3_store.key_of(first.uri))
    assert head["ETag"] == written
    assert (time.time() - head["LastModified"].timestamp()) > 1, "a second put of the same bytes must not rewrite"


def test_read_returns_verified_bytes(s3_store: S3ArtifactStore) -> None:
    stored = s3_store.put(DATA, ".png")

    assert s3_store.read(stored.uri, stored.hash) == DATA
    assert s3_store.read(stored.uri, stored.hash.upper()) == DATA
    assert s3_store.verify(stored.uri, stored.hash)


def test_an_altered_object_is_reported_and_a_later_put_rewrites_it(
    s3_store: S3ArtifactStore, s3_env: S3Server, bucket: str
) -> None:
    stored = s3_store.put(DATA, ".png")
    key = s3_store.key_of(stored.uri)
    # Metadata kept, bytes changed: only hashing what comes back can tell.
    s3_env.client().put_object(Bucket=bucket, Key=key, Body=DATA + b"tampered", Metadata={"sha256": stored.hash})

    with pytest.raises(ArtifactIntegrityError, match="expected " + stored.hash) as excinfo:
        s3_store.read(stored.uri, stored.hash)
    assert excinfo.value.uri == stored.uri
    assert not s3_store.verify(stored.uri, stored.hash)

    assert s3_store.put(DATA, ".png") == stored
    assert s3_store.read(stored.uri, stored.hash) == DATA


def test_a_missing_object_is_an_integrity_error(s3_store: S3ArtifactStore, s3_env: S3Server, bucket: str) -> None:
    stored = s3_store.put(DATA, ".png")
    s3_env.client().delete_object(Bucket=bucket, Key=s3_store.key_of(stored.uri))

    with pytest.raises(ArtifactIntegrityError, match="stored bytes are missing"):
        s3_store.read(stored.uri, stored.hash)


def test_a_hash_the_bytes_do_not_have_is_refused(s3_store: S3ArtifactStore) -> None:
    stored = s3_store.put(DATA, ".png")

    with pytest.raises(ArtifactIntegrityError):
        s3_store.read(stored.uri, hashlib.sha256(b"other").hexdigest())


@pytest.mark.parametrize("suffix", ["png", ".PNG", ".toolongsuffix", "./x", ""])
def test_a_bad_suffix_is_refused(s3_store: S3ArtifactStore, suffix: str) -> None:
    with pytest.raises(ValueError, match="suffix"):
        s3_store.put(DATA, suffix)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda uri, b: uri.replace(f"s3://{b}/", "s3://another-bucket/"),
        lambda uri, b: uri.replace("campaigns/artifacts/", "campaigns/other/"),
        lambda uri, b: uri.replace("campaigns/artifacts/", "campaigns/artifacts/../artifacts/"),
        lambda uri, b: uri.replace("s3://", "file://"),
        lambda uri, b: uri + "?versionId=1",
        lambda uri, b: uri.rsplit("/", 2)[0] + "/secret.txt",
    ],
)
def test_a_uri_outside_the_store_is_refused(s3_store: S3ArtifactStore, bucket: str, mangle: object) -> None:
    stored = s3_store.put(DATA, ".png")
    uri = mangle(stored.uri, bucket)  # type: ignore[operator]

    with pytest.raises(UnsafeArtifactUriError):
        s3_store.read(uri, stored.hash)
    with pytest.raises(UnsafeArtifactUriError):
        s3_store.delete(uri)


def test_a_presigned_link_serves_the_bytes_without_credentials_and_is_time_limited(
    s3_store: S3ArtifactStore,
) -> None:
    stored = s3_store.put(DATA, ".png")
    link = s3_store.link(stored.uri, expires_s=120)

    with urllib.request.urlopen(link, timeout=5) as response:  # a plain GET: no AWS credentials involved
        assert response.read() == DATA
    # moto does not enforce expiry, so check what a real S3 service enforces: a SigV4 signature over a
    # validity window of exactly the requested seconds, starting now.
    query = parse_qs(urlparse(link).query)
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"] and query["X-Amz-Signature"][0]
    assert query["X-Amz-Expires"] == ["120"]
    signed_at = datetime.strptime(query["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    assert abs((datetime.now(UTC) - signed_at).total_seconds()) < 60
    assert "test-secret" not in link


def test_objects_lists_only_artifacts_and_delete_removes_one(
    s3_store: S3ArtifactStore, s3_env: S3Server, bucket: str
) -> None:
    a, b = s3_store.put(b"one", ".json"), s3_store.put(b"two", ".json")
    s3_env.client().put_object(Bucket=bucket, Key="campaigns/artifacts/README.txt", Body=b"not an artifact")
    s3_env.client().put_object(Bucket=bucket, Key="elsewhere/aa/" + "a" * 64 + ".json", Body=b"other prefix")

    listed = {o.uri: o for o in s3_store.objects()}
    assert set(listed) == {a.uri, b.uri}
    assert listed[a.uri].size == 3 and listed[a.uri].modified.tzinfo is not None

    s3_store.delete(a.uri)
    assert [o.uri for o in s3_store.objects()] == [b.uri]
    assert "campaigns/artifacts/README.txt" in _keys(s3_env, bucket)


def test_the_factory_picks_the_store_from_the_url(s3_env: S3Server, bucket: str, tmp_path: Path) -> None:
    assert isinstance(open_store(None, tmp_path / "a"), LocalArtifactStore)
    assert isinstance(open_store(f"file://{tmp_path}/b", tmp_path / "a"), LocalArtifactStore)
    s3 = open_store(f"s3://{bucket}/p", tmp_path / "a")
    assert isinstance(s3, S3ArtifactStore) and (s3.bucket, s3.prefix) == (bucket, "p")
    with pytest.raises(PipelineError, match="expected s3://bucket/prefix"):
        open_store("gs://bucket/p", tmp_path)
    with pytest.raises(PipelineError, match="must look like s3://bucket/prefix"):
        open_store("s3://Bad_Bucket/p", tmp_path)


def test_re_putting_bytes_stored_long_ago_refreshes_their_age_for_gc(
    s3_store: S3ArtifactStore, s3_env: S3Server, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    stored = s3_store.put(DATA, ".png")
    key = s3_store.key_of(stored.uri)
    first = s3_env.client().head_object(Bucket=bucket, Key=key)["LastModified"]
    time.sleep(1.1)
    monkeypatch.setattr(store_s3, "REFRESH_AFTER", timedelta(0))  # "long ago" = any time before now

    assert s3_store.put(DATA, ".png") == stored

    head = s3_env.client().head_object(Bucket=bucket, Key=key)
    assert head["LastModified"] > first
    assert head["Metadata"] == {"sha256": stored.hash}
    assert s3_store.read(stored.uri, stored.hash) == DATA
