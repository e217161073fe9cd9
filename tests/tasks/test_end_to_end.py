"""A campaign on the real worker, Redis and PostgreSQL: every step, persisted, every artifact checkable."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from celery import Celery
from sqlalchemy.orm import Session, sessionmaker

from context import CampaignContext, ContextResolver, QualityStatus
from pipeline.steps import DEFAULT_GRAPH
from pipeline.store import LocalArtifactStore
from tests.worker_fixtures import RunStarter, WorkerProcess, wait_for_run

ALL_STEPS = {step_id for step_id, _ in DEFAULT_GRAPH}


def test_a_campaign_runs_end_to_end_and_persists_a_valid_context(
    start_run: RunStarter, pg_sessions: sessionmaker[Session], artifact_root: Path
) -> None:
    tenant = uuid.uuid4()
    run_id = start_run(tenant, {"brief": "Catch the falling stars", "steps": {"bgm": {"mood": "calm"}}})

    run, steps = wait_for_run(pg_sessions, run_id, tenant)

    assert run.status == "completed", run.error
    assert run.finished_at is not None
    ctx = CampaignContext.model_validate(run.context)
    assert ctx.to_json_dict() == run.context  # what is stored is exactly the contract's JSON
    assert set(steps) == ALL_STEPS
    assert {s.outcome for s in steps.values()} == {"executed"}
    resolver = ContextResolver()
    store = LocalArtifactStore(artifact_root)
    assert len(resolver.list_refs(ctx)) == 12 and resolver.dangling_refs(ctx) == {}
    for ref in resolver.list_refs(ctx):
        artifact = resolver.get_ref(ctx, ref)
        assert artifact is not None
        assert store.verify(artifact.uri, artifact.hash), ref
    assert ctx.computed is not None
    assert set(ctx.computed.input_hashes_by_step) == ALL_STEPS
    checked = {q.artifact_id for q in ctx.computed.quality_checks}
    assert checked == set(ctx.artifacts)
    assert all(q.status is not QualityStatus.FAILED for q in ctx.computed.quality_checks)


def test_a_failing_step_in_a_parallel_branch_fails_the_run_and_keeps_the_partial_context(
    start_run: RunStarter, pg_sessions: sessionmaker[Session]
) -> None:
    tenant = uuid.uuid4()
    run_id = start_run(tenant, {"brief": "x", "steps": {"bgm": {"fail": "permanent"}}})

    run, steps = wait_for_run(pg_sessions, run_id, tenant, timeout_s=60)

    assert run.status == "failed"
    assert run.failed_step == "bgm"
    assert run.error is not None and "simulated permanent failure" in run.error
    assert steps["bgm"].outcome == "failed"
    ctx = CampaignContext.model_validate(run.context)
    assert "planArtifactId" in ctx.refs  # what was recorded before the failure is kept
    assert "campaign_manifest" not in steps


def test_each_step_starts_when_its_own_inputs_are_recorded_not_when_its_level_is_done(
    start_run: RunStarter, pg_sessions: sessionmaker[Session]
) -> None:
    """A slow bgm holds back only what reads it: the graph is followed, there are no level barriers."""
    tenant = uuid.uuid4()
    noop = {step_id: {"noop": True} for step_id in ALL_STEPS}
    run_id = start_run(tenant, {"steps": {**noop, "bgm": {"sleep_s": 3}}})

    run, steps = wait_for_run(pg_sessions, run_id, tenant, timeout_s=60)

    assert run.status == "completed", run.error
    started = {s: row.started_at for s, row in steps.items()}
    finished = {s: row.finished_at for s, row in steps.items()}
    bgm_done = finished["bgm"]
    assert bgm_done is not None
    # bgm's level-mates' successors, which do not read bgm, ran while it slept.
    for step_id in ("intro_video", "button_segmentation"):
        done = finished[step_id]
        assert done is not None and done < bgm_done, (step_id, done, bgm_done)
    # What reads bgm waited for it, and what reads those waited for them.
    for step_id, producer in (("audio_manifest", "bgm"), ("game_config", "audio_manifest")):
        start, ready = started[step_id], finished[producer]
        assert start is not None and ready is not None and start >= ready, (step_id, start, producer, ready)


def test_a_transient_error_is_retried_up_to_the_limit_then_fails_the_run_with_the_reason(
    start_run: RunStarter, pg_sessions: sessionmaker[Session]
) -> None:
    tenant = uuid.uuid4()
    run_id = start_run(tenant, {"steps": {"plan": {"fail": "transient"}}})

    run, steps = wait_for_run(pg_sessions, run_id, tenant, timeout_s=60)

    assert run.status == "failed"
    assert run.error is not None and run.error.startswith("gave up after 2 retries")
    assert steps["plan"].attempts == 3  # the first try and two retries (CAMPAIGN_STEP_MAX_RETRIES=2)


def test_the_start_task_refuses_an_unknown_step_without_creating_a_run(
    celery_client: Celery, worker: WorkerProcess, pg_sessions: sessionmaker[Session]
) -> None:
    tenant, run_id = uuid.uuid4(), uuid.uuid4()
    body = {"tenantId": str(tenant), "runId": str(run_id), "baseRunId": str(uuid.uuid4()), "steps": ["bgm", "nope"]}

    with pytest.raises(Exception, match="unknown step"):
        celery_client.send_task("campaign.start_run", args=[body]).get(timeout=30)

    with pg_sessions() as s:
        from context.runs import RunRepository

        assert RunRepository(s).get(run_id, tenant_id=tenant) is None
