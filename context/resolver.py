"""Resolve logical ref names ("planArtifactId") to the artifacts a context holds."""

from __future__ import annotations

import logging

from context.models import ArtifactData, CampaignContext

log = logging.getLogger(__name__)


class ContextResolver:
    """Read-only lookups on a context; a ref whose artifact is missing is dangling, never a KeyError."""

    def get_ref(self, ctx: CampaignContext, ref_name: str) -> ArtifactData | None:
        artifact_id = ctx.refs.get(ref_name)
        if artifact_id is None:
            return None
        artifact = ctx.artifacts.get(artifact_id)
        if artifact is None:
            log.warning("dangling ref", extra={"run_id": ctx.run_id, "ref_name": ref_name, "artifact_id": artifact_id})
        return artifact

    def get_artifact(self, ctx: CampaignContext, artifact_id: str) -> ArtifactData | None:
        return ctx.artifacts.get(artifact_id)

    def list_refs(self, ctx: CampaignContext) -> list[str]:
        """Ref names that resolve to an artifact; dangling ones are in `dangling_refs`."""
        return [name for name, artifact_id in ctx.refs.items() if artifact_id in ctx.artifacts]

    def has_ref(self, ctx: CampaignContext, ref_name: str) -> bool:
        artifact_id = ctx.refs.get(ref_name)
        return artifact_id is not None and artifact_id in ctx.artifacts

    def dangling_refs(self, ctx: CampaignContext) -> dict[str, str]:
        """Ref name -> artifact id for every ref that points at no artifact in the map."""
        return {name: aid for name, aid in ctx.refs.items() if aid not in ctx.artifacts}
