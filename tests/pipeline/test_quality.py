"""Quality checks as the executor runs them: a failed check fails the step, a warning is kept."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest

from context.models import CampaignContext, QualityStatus
from context.service import CampaignContextService
from pipeline.errors import QualityCheckFailedError
from pipeline.executor import StepExecutor
from pipeline.graph import StepGraph
from pipeline.noop import noop
from pipeline.steps import GeneratedOutput, Generator, StepInputs, default_steps
from pipeline.store import LocalArtifactStore, sha256_hex
from tests.pipeline.workflows import BRIEF, fresh_context, run_steps


@pytest.fixture(scope="module")
def noop_graph() -> StepGraph:
    return StepGraph([spec.with_generator(noop) for spec in default_steps()])


@pytest.fixture
def noop_run(service: CampaignContextService, executor: StepExecutor, noop_graph: StepGraph) -> CampaignContext:
    """All 12 steps done by the no-op generator: every input any step reads is in place."""
    ctx, _ = run_steps(executor, noop_graph, fresh_context(service, {"brief": BRIEF}))
    return ctx


def _returning(artifact_type: str, data: bytes, suffix: str) -> Generator:
    def generate(inputs: StepInputs) -> list[GeneratedOutput]:
        return [GeneratedOutput(artifact_type, data, suffix)]

    return generate


def _zip(entries: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, text in entries.items():
            zf.writestr(name, text)
    return buf.getvalue()


def test_the_no_op_generator_passes_every_check(noop_run: CampaignContext) -> None:
    assert noop_run.computed is not None
    statuses = {q.status for q in noop_run.computed.quality_checks}

    assert statuses == {QualityStatus.PASSED}
    assert {q.artifact_id for q in noop_run.computed.quality_checks} == set(noop_run.artifacts)


def test_json_bytes_for_an_image_fail_the_step_naming_the_format(
    noop_run: CampaignContext, executor: StepExecutor, noop_graph: StepGraph
) -> None:
    spec = noop_graph["intro_image"].with_generator(_returning("intro_image", b'{"not": "a png"}', ".png"))

    with pytest.raises(
        QualityCheckFailedError, match=r"step intro_image: quality check failed: format: expected png, found json"
    ) as excinfo:
        executor.run(noop_run, spec, forced=True)

    assert excinfo.value.step_id == "intro_image"


def test_a_plan_without_a_title_fails_the_schema_check(
    noop_run: CampaignContext, executor: StepExecutor, noop_graph: StepGraph
) -> None:
    document = {"palette": ["#000000"], "buttons": [{"label": "Play"}]}
    spec = noop_graph["plan"].with_generator(_returning("plan", json.dumps(document).encode(), ".json"))

    with pytest.raises(QualityCheckFailedError, match=r"schema: .*'title' is a required property"):
        executor.run(noop_run, spec, forced=True)


def test_a_plan_with_a_bad_palette_colour_fails_naming_where(
    noop_run: CampaignContext, executor: StepExecutor, noop_graph: StepGraph
) -> None:
    document = {"title": "T", "palette": ["red"], "buttons": [{"label": "Play"}]}
    spec = noop_graph["plan"].with_generator(_returning("plan", json.dumps(document).encode(), ".json"))

    with pytest.raises(QualityCheckFailedError, match=r"schema: palette/0: "):
        executor.run(noop_run, spec, forced=True)


def test_a_segmentation_without_buttons_is_a_warning_and_the_step_succeeds(
    noop_run: CampaignContext, executor: StepExecutor, noop_graph: StepGraph
) -> None:
    spec = noop_graph["button_segmentation"].with_generator(
        _returning("button_segmentation", b'{"buttons": []}', ".json")
    )

    result = executor.run(noop_run, spec, forced=True)

    assert result.outcome == "executed"
    assert result.context.computed is not None
    artifact_id = result.context.refs["buttonSegmentationArtifactId"]
    checks = {q.check_type: q.status for q in result.context.computed.quality_checks if q.artifact_id == artifact_id}
    assert checks["content"] is QualityStatus.WARNING
    assert checks["schema"] is QualityStatus.PASSED


def test_a_game_bundle_without_index_html_fails(
    noop_run: CampaignContext, executor: StepExecutor, noop_graph: StepGraph
) -> None:
    bundle = _zip({"game.html": "<!doctype html>", "config.json": "{}"})
    spec = noop_graph["game_bundle"].with_generator(_returning("game_bundle", bundle, ".zip"))

    with pytest.raises(QualityCheckFailedError, match=r"bundle: no index.html"):
        executor.run(noop_run, spec, forced=True)


def test_a_game_bundle_with_index_html_passes(
    noop_run: CampaignContext, executor: StepExecutor, noop_graph: StepGraph
) -> None:
    bundle = _zip({"index.html": "<!doctype html>", "config.json": "{}"})
    spec = noop_graph["game_bundle"].with_generator(_returning("game_bundle", bundle, ".zip"))

    result = executor.run(noop_run, spec, forced=True)

    assert result.context.computed is not None
    artifact_id = result.context.refs["gameBundleArtifactId"]
    bundle_checks = [q for q in result.context.computed.quality_checks if q.artifact_id == artifact_id]
    assert {q.check_type for q in bundle_checks} == {"integrity", "size", "format", "bundle"}


def test_an_empty_file_fails_the_size_check(
    noop_run: CampaignContext, executor: StepExecutor, noop_graph: StepGraph
) -> None:
    spec = noop_graph["sfx"].with_generator(_returning("sfx", b"", ".wav"))

    with pytest.raises(QualityCheckFailedError, match=r"size: 0 bytes is outside"):
        executor.run(noop_run, spec, forced=True)


def test_a_step_failing_its_checks_leaves_the_context_it_was_given_unchanged(
    noop_run: CampaignContext, executor: StepExecutor, noop_graph: StepGraph, store: LocalArtifactStore
) -> None:
    before = noop_run.to_json_dict()
    spec = noop_graph["intro_image"].with_generator(_returning("intro_image", b"GIF89a not really", ".png"))

    with pytest.raises(QualityCheckFailedError, match="expected png, found gif"):
        executor.run(noop_run, spec, forced=True)

    assert noop_run.to_json_dict() == before
    image = noop_run.artifacts[noop_run.refs["introImageArtifactId"]]
    assert store.verify(image.uri, image.hash)


def test_a_game_bundle_whose_manifest_lies_fails_naming_the_file(
    noop_run: CampaignContext, executor: StepExecutor, noop_graph: StepGraph
) -> None:
    manifest = {"files": {"index.html": {"sha256": "0" * 64}, "config.json": {"sha256": sha256_hex(b"{}")}}}
    bundle = _zip({"index.html": "<!doctype html>", "config.json": "{}", "manifest.json": json.dumps(manifest)})
    spec = noop_graph["game_bundle"].with_generator(_returning("game_bundle", bundle, ".zip"))

    with pytest.raises(QualityCheckFailedError, match=r"bundle: manifest.json does not match index.html"):
        executor.run(noop_run, spec, forced=True)


class _LossyStore(LocalArtifactStore):
    """A store whose writes land damaged on disk (a bad disk, a truncated upload): what it holds is not what it got."""

    def put(self, data: bytes, suffix: str):  # type: ignore[no-untyped-def]
        stored = super().put(data, suffix)
        self.path_of(stored.uri).write_bytes(data[: len(data) // 2])
        return stored


def test_quality_checks_read_the_artifact_back_from_the_store_not_the_generators_bytes(
    service: CampaignContextService, tmp_path: Path, noop_graph: StepGraph
) -> None:
    executor = StepExecutor(service, _LossyStore(tmp_path / "lossy"))
    ctx = fresh_context(service, {"brief": BRIEF})

    with pytest.raises(QualityCheckFailedError, match="integrity: stored bytes hash to"):
        executor.run(ctx, noop_graph["plan"])
