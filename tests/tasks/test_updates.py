"""Update runs on the real worker: only what changed executes, the rest is reused, the base is never touched."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from celery import Celery
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from context import CampaignContext
from pipeline.store import LocalArtifactStore
from tests.worker_fixtures import RunStarter, wait_for_run

BRIEF = {"brief": "Pop the balloons", "steps": {"bgm": {"mood": "happy", "tempo_bpm": 110}}}
ALL = {
    "plan", "intro_image", "intro_video", "button_segmentation", "bgm", "sfx", "audio_manifest", "game_config",
    "game_bundle", "outcome_win_video", "outcome_lose_video", "campaign_manifest",
}  # fmt: skip


@pytest.fixture
def base_run(start_run: RunStarter, pg_sessions: sessionmaker[Session]) -> tuple[uuid.UUID, uuid.UUID]:
    tenant = uuid.uuid4()
    run_id = start_run(tenant, BRIEF)
    run, _ = wait_for_run(pg_sessions, run_id, tenant)
    assert run.status == "completed", run.error
    return tenant, run_id


def _update(start_run: RunStarter, tenant: uuid.UUID, base: uuid.UUID, **fields: Any) -> uuid.UUID:
    return start_run(tenant, fields.pop("payload", {}), baseRunId=str(base), **fields)


def _executed(steps: dict[str, Any]) -> set[str]:
    return {sid for sid, s in steps.items() if s.outcome == "executed"}


def _raw_row(sessions: sessionmaker[Session], run_id: uuid.UUID) -> tuple[Any, ...]:
    with sessions() as s:
        row = s.execute(text("SELECT *, context::text FROM app.runs WHERE id = :id"), {"id": run_id}).one()
        return tuple(row)


def test_changing_bgm_params_executes_bgm_and_its_changed_dependents_only(
    base_run: tuple[uuid.UUID, uuid.UUID], start_run: RunStarter, pg_sessions: sessionmaker[Session]
) -> None:
    tenant, base = base_run
    update_id = _update(start_run, tenant, base, payload={"steps": {"bgm": {"mood": "sad"}}})

    run, steps = wait_for_run(pg_sessions, update_id, tenant)

    assert run.status == "completed", run.error
    assert run.base_run_id == base
    assert _executed(steps) == {"bgm", "audio_manifest", "game_config", "game_bundle", "campaign_manifest"}
    assert {sid for sid, s in steps.items() if s.outcome == "reused"} == ALL - _executed(steps)
    assert all(steps[s].reason == "inputs unchanged" for s in ALL - _executed(steps))
    new, old = CampaignContext.model_validate(run.context), _context(pg_sessions, base, tenant)
    assert new.trigger.payload == {"brief": "Pop the balloons", "steps": {"bgm": {"mood": "sad", "tempo_bpm": 110}}}
    assert new.refs["planArtifactId"] == old.refs["planArtifactId"]  # reused artifacts keep their ids
    assert new.refs["bgmArtifactId"] != old.refs["bgmArtifactId"]
    assert old.refs["bgmArtifactId"] not in new.artifacts  # superseded artifacts leave the map
    assert set(new.artifacts) == set(new.refs.values())


def test_forcing_a_deterministic_step_executes_that_step_only(
    base_run: tuple[uuid.UUID, uuid.UUID], start_run: RunStarter, pg_sessions: sessionmaker[Session]
) -> None:
    tenant, base = base_run
    update_id = _update(start_run, tenant, base, steps=["intro_image"])

    run, steps = wait_for_run(pg_sessions, update_id, tenant)

    assert run.status == "completed", run.error
    assert _executed(steps) == {"intro_image"}
    assert steps["intro_image"].reason == "forced by --steps"
    new, old = CampaignContext.model_validate(run.context), _context(pg_sessions, base, tenant)
    assert new.artifacts[new.refs["introImageArtifactId"]].hash == old.artifacts[old.refs["introImageArtifactId"]].hash


def test_an_update_with_no_change_executes_nothing_and_keeps_the_base_refs(
    base_run: tuple[uuid.UUID, uuid.UUID], start_run: RunStarter, pg_sessions: sessionmaker[Session]
) -> None:
    tenant, base = base_run
    update_id = _update(start_run, tenant, base)

    run, steps = wait_for_run(pg_sessions, update_id, tenant)

    assert run.status == "completed", run.error
    assert _executed(steps) == set() and set(steps) == ALL
    assert CampaignContext.model_validate(run.context).refs == _context(pg_sessions, base, tenant).refs


def test_a_corrupted_artifact_found_while_reusing_is_regenerated_and_says_so(
    base_run: tuple[uuid.UUID, uuid.UUID],
    start_run: RunStarter,
    pg_sessions: sessionmaker[Session],
    artifact_root: Path,
) -> None:
    tenant, base = base_run
    old = _context(pg_sessions, base, tenant)
    sfx = old.artifacts[old.refs["sfxArtifactId"]]
    LocalArtifactStore(artifact_root).path_of(sfx.uri).write_bytes(b"not the sound you stored")

    run, steps = wait_for_run(pg_sessions, _update(start_run, tenant, base), tenant)

    assert run.status == "completed", run.error
    assert _executed(steps) == {"sfx"}  # same bytes again: the dependents are reused (early cutoff)
    assert steps["sfx"].reason is not None and "corrupt" in steps["sfx"].reason
    assert LocalArtifactStore(artifact_root).verify(sfx.uri, sfx.hash)


def test_two_concurrent_updates_of_one_base_both_complete_and_leave_the_base_row_unchanged(
    base_run: tuple[uuid.UUID, uuid.UUID], start_run: RunStarter, pg_sessions: sessionmaker[Session]
) -> None:
    tenant, base = base_run
    before = _raw_row(pg_sessions, base)
    first = _update(start_run, tenant, base, payload={"steps": {"bgm": {"tempo_bpm": 90}}})
    second = _update(start_run, tenant, base, payload={"steps": {"sfx": {"names": ["click", "win"]}}})

    (run1, steps1), (run2, steps2) = wait_for_run(pg_sessions, first, tenant), wait_for_run(pg_sessions, second, tenant)

    assert run1.status == run2.status == "completed"
    assert "bgm" in _executed(steps1) and "sfx" not in _executed(steps1)
    assert "sfx" in _executed(steps2) and "bgm" not in _executed(steps2)
    assert _raw_row(pg_sessions, base) == before


@pytest.mark.parametrize(
    ("problem", "expected"),
    [("unknown_step", "unknown step"), ("failed_base", "not completed"), ("other_tenant", "run not found"),
     ("corrupt_base", "stored context is invalid")],
)  # fmt: skip
def test_a_bad_update_request_is_refused_and_the_base_run_is_untouched(
    problem: str,
    expected: str,
    base_run: tuple[uuid.UUID, uuid.UUID],
    celery_client: Celery,
    pg_sessions: sessionmaker[Session],
) -> None:
    tenant, base = base_run
    body: dict[str, Any] = {"tenantId": str(tenant), "runId": str(uuid.uuid4()), "baseRunId": str(base)}
    if problem == "unknown_step":
        body["steps"] = ["bgm", "sparkles"]
    elif problem == "other_tenant":
        body["tenantId"] = str(uuid.uuid4())
    else:
        with pg_sessions() as s, s.begin():
            if problem == "failed_base":
                s.execute(text("UPDATE app.runs SET status = 'failed' WHERE id = :id"), {"id": base})
            else:
                corrupt = """UPDATE app.runs SET context = jsonb_set(context, '{runId}', '"nope"') WHERE id = :id"""
                s.execute(text(corrupt), {"id": base})
    before = _raw_row(pg_sessions, base)

    with pytest.raises(Exception, match=expected):
        celery_client.send_task("campaign.start_run", args=[body]).get(timeout=30)

    assert _raw_row(pg_sessions, base) == before
    with pg_sessions() as s:
        assert s.execute(text("SELECT count(*) FROM app.runs WHERE id = :id"), {"id": body["runId"]}).scalar() == 0


def _context(sessions: sessionmaker[Session], run_id: uuid.UUID, tenant: uuid.UUID) -> CampaignContext:
    from context.runs import RunRepository

    with sessions() as s:
        run = RunRepository(s).get(run_id, tenant_id=tenant)
        assert run is not None
        return CampaignContext.model_validate(run.context)


def test_reused_steps_are_recorded_by_the_driver_without_a_task_each(
    base_run: tuple[uuid.UUID, uuid.UUID], start_run: RunStarter, pg_sessions: sessionmaker[Session]
) -> None:
    tenant, base = base_run
    unchanged = _update(start_run, tenant, base)
    one_changed = _update(start_run, tenant, base, payload={"steps": {"bgm": {"mood": "sad"}}})

    run, steps = wait_for_run(pg_sessions, unchanged, tenant)
    assert run.status == "completed", run.error
    assert {s.outcome for s in steps.values()} == {"reused"} and set(steps) == ALL
    assert all(s.task_id is None for s in steps.values())  # no step message was sent for any of them

    run, steps = wait_for_run(pg_sessions, one_changed, tenant)
    assert run.status == "completed", run.error
    ran_as_tasks = {sid for sid, s in steps.items() if s.task_id is not None}
    assert ran_as_tasks == _executed(steps) == {"bgm", "audio_manifest", "game_config", "game_bundle",
                                                "campaign_manifest"}  # fmt: skip
