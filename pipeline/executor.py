"""Run one step on a context: decide reuse, or generate, store, attach, check. Pure of any task queue."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from context.models import (
    ArtifactData,
    CampaignContext,
    ComputedData,
    QualityCheckResult,
    QualityStatus,
    StepArtifact,
)
from context.resolver import ContextResolver
from context.service import CampaignContextService, drop_artifact
from pipeline.errors import ArtifactIntegrityError, PipelineError, QualityCheckFailedError, StepFailedError
from pipeline.hashing import LEGACY_SCHEME_REASON, input_hash, is_current_scheme
from pipeline.params import step_params
from pipeline.quality import check_artifact, integrity_failure
from pipeline.steps import StepSpec
from pipeline.store import ArtifactStore

# Artifact ids are uuid5 of (run, step, index) so a redelivered task builds an identical context.
ARTIFACT_NAMESPACE = uuid.UUID("6f1c2a8e-3b7d-4c55-9a0e-1d2f3b4c5d6e")
_resolver = ContextResolver()


def artifact_id_for(run_id: str, step_id: str, index: int) -> str:
    return str(uuid.uuid5(ARTIFACT_NAMESPACE, f"{run_id}/{step_id}/{index}"))


@dataclass(frozen=True)
class StepResult:
    context: CampaignContext
    outcome: Literal["executed", "reused"]
    reason: str
    stored: tuple[tuple[str, int], ...] = ()  # (artifact type, bytes) of each output put in the store


@dataclass(frozen=True)
class Decision:
    reuse: bool
    reason: str
    input_hash: str
    inputs: Mapping[str, ArtifactData]


@dataclass(frozen=True)
class _Inputs:
    """StepInputs for a generator: its params and verified reads of the artifacts it declared."""

    step_id: str
    params: Mapping[str, Any]
    input_types: tuple[str, ...]
    artifacts: Mapping[str, ArtifactData]
    store: ArtifactStore
    run_id: str
    input_hash: str

    def artifact(self, artifact_type: str) -> ArtifactData:
        try:
            return self.artifacts[artifact_type]
        except KeyError:
            raise StepFailedError(self.step_id, f"it did not declare {artifact_type} as an input") from None

    def read(self, artifact_type: str) -> bytes:
        art = self.artifact(artifact_type)
        return self.store.read(art.uri, art.hash)

    def read_json(self, artifact_type: str) -> Any:
        return json.loads(self.read(artifact_type))

    def read_object(self, uri: str, expected_hash: str) -> bytes:
        return self.store.read(uri, expected_hash)


class StepExecutor:
    """Executes or reuses steps; the task layer wraps `run` and records its outcome."""

    def __init__(self, service: CampaignContextService, store: ArtifactStore) -> None:
        self.service, self.store = service, store

    def input_hash(self, ctx: CampaignContext, spec: StepSpec) -> tuple[str, dict[str, ArtifactData]]:
        """The step's input hash on `ctx`, and its input artifacts by type."""
        artifacts: dict[str, ArtifactData] = {}
        for artifact_type, ref in spec.input_refs.items():
            art = _resolver.get_ref(ctx, ref)
            if art is None:
                raise StepFailedError(spec.id, f"input {ref} is missing from the context")
            artifacts[artifact_type] = art
        for artifact_type, ref in spec.optional_refs.items():
            art = _resolver.get_ref(ctx, ref)
            if art is not None:
                artifacts[artifact_type] = art
        refs = {**spec.input_refs, **spec.optional_refs}
        params = step_params(ctx.trigger.payload, spec.id)
        inputs = {refs[t]: a.hash for t, a in artifacts.items()}
        return input_hash(step_id=spec.id, version=spec.version, params=params, inputs=inputs), artifacts

    def run(self, ctx: CampaignContext, spec: StepSpec, *, forced: bool = False) -> StepResult:
        """Decide, then execute unless the step is reused."""
        decision = self.decide(ctx, spec, forced=forced)
        return StepResult(ctx, "reused", decision.reason) if decision.reuse else self.execute(ctx, spec, decision)

    def decide(self, ctx: CampaignContext, spec: StepSpec, *, forced: bool = False) -> Decision:
        """Whether the step can be reused, and why; cheap (no generator call), so callers can act on it first."""
        new_hash, artifacts = self.input_hash(ctx, spec)
        reuse, reason = self.reuse_decision(ctx, spec, new_hash, forced=forced)
        return Decision(reuse, reason, new_hash, artifacts)

    def execute(self, ctx: CampaignContext, spec: StepSpec, decision: Decision) -> StepResult:
        """Run the generator, store and attach its outputs, check them."""
        new_hash, artifacts, reason = decision.input_hash, decision.inputs, decision.reason
        params = step_params(ctx.trigger.payload, spec.id)
        inputs = _Inputs(spec.id, params, tuple(artifacts), artifacts, self.store, ctx.run_id, new_hash)
        try:
            outputs = spec.generator(inputs)
        except PipelineError:
            raise
        except Exception as e:  # a generator is third-party code: any other error fails the step, named
            raise StepFailedError(spec.id, f"{type(e).__name__}: {e}") from e
        if not outputs:
            raise StepFailedError(spec.id, "the generator produced no artifacts")
        staged, sizes = [], []
        for index, out in enumerate(outputs):
            stored = self.store.put(out.data, out.suffix)
            sizes.append(stored.size)
            artifact_id = artifact_id_for(ctx.run_id, spec.id, index)
            ref = spec.output_ref if index == 0 else f"{spec.output_ref[: -len('ArtifactId')]}{index}ArtifactId"
            staged.append(
                StepArtifact(
                    type=out.type,
                    uri=stored.uri,
                    hash=stored.hash,
                    metadata=out.metadata or None,
                    artifact_id=artifact_id,
                    ref_name=ref,
                )
            )
        base = ctx
        if any(a.artifact_id in ctx.artifacts for a in staged):
            # Executing again in the same run (a resume, a corrupt object): the step replaces its own output.
            base = ctx.model_copy(deep=True)
            for a in staged:
                if a.artifact_id:
                    drop_artifact(base, a.artifact_id)
        new = self.service.attach_step_result(base, spec.id, staged)
        checks = []
        for a in staged:
            assert a.artifact_id is not None
            checks.extend(self._check_stored(a.artifact_id, new.artifacts[a.artifact_id], spec))
        failures = [f"{q.check_type}: {q.message}" for q in checks if q.status is QualityStatus.FAILED]
        if failures:
            raise QualityCheckFailedError(spec.id, failures)
        computed = new.computed or ComputedData(input_hashes_by_step={}, quality_checks=[])
        computed.input_hashes_by_step[spec.id] = new_hash
        computed.quality_checks.extend(checks)
        new.computed = computed
        return StepResult(new, "executed", reason, tuple((a.type, size) for a, size in zip(staged, sizes, strict=True)))

    def _check_stored(self, artifact_id: str, artifact: ArtifactData, spec: StepSpec) -> list[QualityCheckResult]:
        """Check what the store holds, read back, not the generator's bytes: a bad write is caught here."""
        try:
            data = self.store.read(artifact.uri, artifact.hash)
        except ArtifactIntegrityError as e:
            return [integrity_failure(artifact_id, e.problem)]
        return check_artifact(artifact_id, artifact, data, spec.policy.formats)

    def reuse_decision(self, ctx: CampaignContext, spec: StepSpec, new_hash: str, *, forced: bool) -> tuple[bool, str]:
        """(reuse?, why): the design's reuse rule, checked in order of what is cheapest to know."""
        if forced:
            return False, "forced by --steps"
        old_hash = (ctx.computed.input_hashes_by_step if ctx.computed else {}).get(spec.id)
        if old_hash is None:
            return False, "no earlier result"
        if not is_current_scheme(old_hash):
            return False, LEGACY_SCHEME_REASON
        if old_hash != new_hash:
            return False, "inputs changed (params, version or an input artifact)"
        art = _resolver.get_ref(ctx, spec.output_ref)
        artifact_id = ctx.refs.get(spec.output_ref)
        if art is None or artifact_id is None:
            return False, f"output {spec.output_ref} is missing"
        failed = [
            q.check_type
            for q in (ctx.computed.quality_checks if ctx.computed else [])
            if q.artifact_id == artifact_id and q.status is QualityStatus.FAILED
        ]
        if failed:
            return False, f"earlier artifact failed quality check {', '.join(failed)}"
        try:
            self.store.read(art.uri, art.hash)
        except ArtifactIntegrityError as e:
            return False, f"stored artifact is corrupt ({e.problem}); regenerated"
        return True, "inputs unchanged"
