"""Runs left behind are found by the sweeper (Celery beat's `campaign.sweep`), resumed, or failed with a reason."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from celery import Celery
from sqlalchemy.orm import Session, sessionmaker

from context import CampaignContextService, ReferenceTypeRegistry, Run, RunRepository, RunStatus, utc_now_iso
from context.runs import utc_now
from tests.worker_fixtures import WorkerProcess, left_behind, wait_for_run


def test_a_run_whose_lease_expired_is_resumed_by_the_sweeper_and_completes(
    celery_client: Celery, worker: WorkerProcess, pg_sessions: sessionmaker[Session], registry: ReferenceTypeRegistry
) -> None:
    tenant = uuid.uuid4()
    run_id = left_behind(pg_sessions, registry, tenant, running="plan")

    celery_client.send_task("campaign.sweep", queue="campaign")
    run, steps = wait_for_run(pg_sessions, run_id, tenant)

    assert run.status == "completed", run.error
    assert run.epoch == 2  # the sweeper took the run over as a new driver
    assert len(steps) == 12 and {s.outcome for s in steps.values()} == {"executed"}


def test_a_run_with_nothing_in_flight_is_sent_again_by_its_own_epoch(
    celery_client: Celery, worker: WorkerProcess, pg_sessions: sessionmaker[Session], registry: ReferenceTypeRegistry
) -> None:
    tenant = uuid.uuid4()
    run_id = left_behind(pg_sessions, registry, tenant, sweeps=3)

    celery_client.send_task("campaign.sweep", queue="campaign")
    run, steps = wait_for_run(pg_sessions, run_id, tenant)

    assert run.status == "completed", run.error
    assert run.epoch == 1  # an unsent step is work not yet handed over, not a lost driver: no takeover, no count
    assert len(steps) == 12


def test_a_run_swept_too_often_without_progress_fails_with_the_reason(
    celery_client: Celery, worker: WorkerProcess, pg_sessions: sessionmaker[Session], registry: ReferenceTypeRegistry
) -> None:
    tenant = uuid.uuid4()
    run_id = left_behind(pg_sessions, registry, tenant, sweeps=3, running="plan")  # CAMPAIGN_MAX_SWEEPS is 3

    celery_client.send_task("campaign.sweep", queue="campaign")
    run, steps = wait_for_run(pg_sessions, run_id, tenant)

    assert run.status == "failed"
    assert run.failed_step == "sweeper"
    assert run.error is not None and "no progress after 3 takeovers" in run.error
    assert steps["plan"].outcome == "cancelled"  # the step that was running ended with its run


def test_resume_of_a_live_run_is_refused_naming_why(
    celery_client: Celery, worker: WorkerProcess, pg_sessions: sessionmaker[Session], registry: ReferenceTypeRegistry
) -> None:
    tenant = uuid.uuid4()
    with pg_sessions() as s, s.begin():
        ctx = CampaignContextService(registry).create(
            campaign_id=str(uuid.uuid4()), run_id=str(uuid.uuid4()), workflow_name="campaign",
            trigger={"type": "api", "timestamp": utc_now_iso()},
        )  # fmt: skip
        run_id = uuid.UUID(ctx.run_id)
        RunRepository(s).add(
            Run(id=run_id, tenant_id=tenant, campaign_id=uuid.UUID(ctx.campaign_id), workflow_name="campaign",
                status=RunStatus.RUNNING.value, context=ctx.to_json_dict(), epoch=1,
                lease_expires_at=utc_now() + timedelta(hours=1))
        )  # fmt: skip

    with pytest.raises(Exception, match=r"is running .*still live, so it cannot be resumed"):
        celery_client.send_task("campaign.resume_run", args=[str(run_id), str(tenant)]).get(timeout=30)

    with pg_sessions() as s:
        run = RunRepository(s).get(run_id, tenant_id=tenant)
        assert run is not None and run.status == "running" and run.epoch == 1  # untouched
