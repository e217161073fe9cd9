"""Which artifact store a process uses: the S3 one for an s3:// artifact URL, else the local directory."""

from __future__ import annotations

from pathlib import Path

from pipeline.errors import PipelineError
from pipeline.store import ArtifactStore, LocalArtifactStore


def open_store(artifact_url: str | None, artifact_root: Path) -> ArtifactStore:
    """`s3://bucket/prefix` -> S3ArtifactStore; unset -> LocalArtifactStore(artifact_root), the embedded default."""
    if not artifact_url:
        return LocalArtifactStore(artifact_root)
    if artifact_url.startswith("s3://"):
        from pipeline.store_s3 import S3ArtifactStore  # boto3 is only imported by processes that use it

        return S3ArtifactStore(artifact_url)
    if artifact_url.startswith("file://"):
        return LocalArtifactStore(artifact_url.removeprefix("file://"))
    raise PipelineError(f"artifact url {artifact_url!r}: expected s3://bucket/prefix or file:///path")
