"""The local content-addressed store: stored once, read back verified, nothing outside its root."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from pipeline.errors import ArtifactIntegrityError, UnsafeArtifactUriError
from pipeline.store import LocalArtifactStore

DATA = b"\x89PNG pretend image bytes"


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def test_an_object_is_stored_under_its_sha256_with_its_suffix(store: LocalArtifactStore) -> None:
    stored = store.put(DATA, ".png")
    digest = hashlib.sha256(DATA).hexdigest()

    assert stored.hash == digest
    assert stored.size == len(DATA)
    assert stored.uri.startswith("file://")
    assert store.path_of(stored.uri) == store.root / digest[:2] / f"{digest}.png"
    assert store.path_of(stored.uri).read_bytes() == DATA


def test_the_same_bytes_are_stored_once_under_one_uri(store: LocalArtifactStore) -> None:
    first = store.put(DATA, ".png")
    second = store.put(DATA, ".png")

    assert first == second
    assert len(_files(store.root)) == 1


def test_different_bytes_get_different_objects(store: LocalArtifactStore) -> None:
    assert store.put(b"one", ".json").uri != store.put(b"two", ".json").uri
    assert len(_files(store.root)) == 2


def test_read_returns_the_bytes_when_they_match_the_hash(store: LocalArtifactStore) -> None:
    stored = store.put(DATA, ".png")

    assert store.read(stored.uri, stored.hash) == DATA
    assert store.read(stored.uri, stored.hash.upper()) == DATA
    assert store.verify(stored.uri, stored.hash)


def test_read_refuses_a_stored_file_that_was_altered(store: LocalArtifactStore) -> None:
    stored = store.put(DATA, ".png")
    store.path_of(stored.uri).write_bytes(DATA + b"tampered")

    with pytest.raises(ArtifactIntegrityError, match="expected " + stored.hash) as excinfo:
        store.read(stored.uri, stored.hash)

    assert excinfo.value.uri == stored.uri
    assert not store.verify(stored.uri, stored.hash)


def test_read_refuses_a_hash_the_bytes_do_not_have(store: LocalArtifactStore) -> None:
    stored = store.put(DATA, ".png")

    with pytest.raises(ArtifactIntegrityError):
        store.read(stored.uri, "0" * 64)


def test_read_of_a_missing_file_is_an_integrity_error(store: LocalArtifactStore) -> None:
    stored = store.put(DATA, ".png")
    store.path_of(stored.uri).unlink()

    with pytest.raises(ArtifactIntegrityError, match="missing"):
        store.read(stored.uri, stored.hash)
    assert not store.verify(stored.uri, stored.hash)


def test_a_corrupted_object_is_rewritten_by_a_later_put_of_the_right_bytes(store: LocalArtifactStore) -> None:
    stored = store.put(DATA, ".png")
    store.path_of(stored.uri).write_bytes(b"garbage")

    again = store.put(DATA, ".png")

    assert again.uri == stored.uri
    assert store.read(again.uri, again.hash) == DATA
    assert len(_files(store.root)) == 1  # no temporary file left behind


@pytest.mark.parametrize("suffix", ["png", ".PNG", ".", ".toolongsuffix", "../x", ".p/g", ""])
def test_a_bad_suffix_is_refused(store: LocalArtifactStore, suffix: str) -> None:
    with pytest.raises(ValueError, match="suffix"):
        store.put(DATA, suffix)
    assert _files(store.root) == []


def test_a_uri_outside_the_root_is_refused(store: LocalArtifactStore) -> None:
    with pytest.raises(UnsafeArtifactUriError):
        store.read("file:///etc/passwd", "0" * 64)


def test_a_uri_escaping_the_root_with_dot_dot_is_refused(store: LocalArtifactStore, tmp_path: Path) -> None:
    outside = tmp_path / "secret.txt"
    outside.write_bytes(DATA)
    uri = f"{store.root.as_uri()}/ab/../../secret.txt"

    with pytest.raises(UnsafeArtifactUriError) as excinfo:
        store.read(uri, hashlib.sha256(DATA).hexdigest())
    assert excinfo.value.uri == uri


def test_a_symlink_inside_the_root_pointing_outside_is_refused(store: LocalArtifactStore, tmp_path: Path) -> None:
    outside = tmp_path / "secret.txt"
    outside.write_bytes(DATA)
    link = store.root / "ab" / "link.png"
    link.parent.mkdir()
    link.symlink_to(outside)

    with pytest.raises(UnsafeArtifactUriError):
        store.read(link.as_uri(), hashlib.sha256(DATA).hexdigest())


@pytest.mark.parametrize("scheme_and_host", ["http://example.com", "https://localhost", "file://otherhost"])
def test_a_uri_of_another_scheme_or_host_is_refused(store: LocalArtifactStore, scheme_and_host: str) -> None:
    stored = store.put(DATA, ".png")
    path = store.path_of(stored.uri)

    with pytest.raises(UnsafeArtifactUriError):
        store.read(f"{scheme_and_host}{path}", stored.hash)


def test_a_localhost_file_uri_inside_the_root_is_accepted(store: LocalArtifactStore) -> None:
    stored = store.put(DATA, ".png")

    assert store.read(f"file://localhost{store.path_of(stored.uri)}", stored.hash) == DATA
