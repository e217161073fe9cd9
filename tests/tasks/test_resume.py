"""A run whose start message was lost after its row was made is found as stale and finished by resume."""

from __future__ import annotations

import uuid
from datetime import timedelta

from celery import Celery
from sqlalchemy.orm import Session, sessionmaker

from context import CampaignContextService, ReferenceTypeRegistry, Run, RunRepository, RunStatus, utc_now_iso
from context.runs import utc_now
from tests.worker_fixtures import WorkerProcess, wait_for_run


def test_a_pending_run_left_behind_is_listed_as_stale_and_completed_by_resume(
    celery_client: Celery, worker: WorkerProcess, pg_sessions: sessionmaker[Session], registry: ReferenceTypeRegistry
) -> None:
    tenant, run_id = uuid.uuid4(), uuid.uuid4()
    ctx = CampaignContextService(registry).create(
        campaign_id=str(uuid.uuid4()),
        run_id=str(run_id),
        workflow_name="campaign",
        trigger={"type": "api", "timestamp": utc_now_iso(), "payload": {"brief": "left behind"}},
    )
    an_hour_ago = utc_now() - timedelta(hours=1)
    with pg_sessions() as s, s.begin():
        RunRepository(s).add(
            Run(id=run_id, tenant_id=tenant, campaign_id=uuid.UUID(ctx.campaign_id), workflow_name="campaign",
                status=RunStatus.PENDING.value, context=ctx.to_json_dict(), updated_at=an_hour_ago)
        )  # fmt: skip
    with pg_sessions() as s:
        stale = RunRepository(s).stale_runs(tenant_id=tenant, older_than=utc_now() - timedelta(minutes=30))
    assert [r.id for r in stale] == [run_id]

    celery_client.send_task("campaign.resume_run", args=[str(run_id), str(tenant)]).get(timeout=30)
    run, steps = wait_for_run(pg_sessions, run_id, tenant)

    assert run.status == "completed", run.error
    assert len(steps) == 12 and {s.outcome for s in steps.values()} == {"executed"}
