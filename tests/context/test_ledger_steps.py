"""The ledger's per-step transactions give the same answers on PostgreSQL (one function call each, under the
row-level-security role) and on embedded SQLite (statement by statement)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from context.db import ensure_embedded_schema, make_engine, session_factory
from context.ledger import Ledger
from context.runs import Run, RunRepository, RunStatus, RunStep, StepOutcome

DEPS = {"a": [], "b": ["a"], "c": ["a"], "d": ["b", "c"]}
LEASE = timedelta(seconds=60)
Tx = Callable[[], AbstractContextManager[Ledger]]


@pytest.fixture(params=["postgresql", "sqlite"])
def tx(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Tx]:
    """A transaction with a Ledger; on PostgreSQL as the application role that row-level security binds."""
    if request.param == "postgresql":
        sessions: sessionmaker[Session] = request.getfixturevalue("pg_sessions")
        role = True
    else:
        engine = make_engine(f"sqlite:///{tmp_path / 'runs.db'}")
        ensure_embedded_schema(engine)
        sessions, role = session_factory(engine), False

    @contextmanager
    def ledger() -> Iterator[Ledger]:
        with sessions() as s, s.begin():
            if role:
                s.execute(text("SET LOCAL ROLE campaign_app"))
            yield Ledger(s)

    yield ledger


def _new_run(tx: Tx, tenant: uuid.UUID) -> uuid.UUID:
    run_id = uuid.uuid4()
    with tx() as ledger:
        RunRepository(ledger.session).add(
            Run(id=run_id, tenant_id=tenant, campaign_id=uuid.uuid4(), workflow_name="wf", status="pending", epoch=1)
        )
    return run_id


def _begin(tx: Tx, run: uuid.UUID, tenant: uuid.UUID, step: str, epoch: int = 1):  # type: ignore[no-untyped-def]
    with tx() as ledger:
        return ledger.begin_step(run, tenant, step, epoch, queue="q", hostname="h", task_id="t", lease=LEASE)


def _end(tx: Tx, run: uuid.UUID, tenant: uuid.UUID, step: str | None, epoch: int = 1, result: object = None):  # type: ignore[no-untyped-def]
    with tx() as ledger:
        outcome = StepOutcome.EXECUTED if result is not None else None
        return ledger.end_step(
            run, tenant, step, epoch, deps=DEPS, lease=LEASE, outcome=outcome, reason="r", result=result
        )


def test_steps_are_claimed_once_per_epoch_recorded_once_and_the_last_completes(tx: Tx, tenant: uuid.UUID) -> None:
    run = _new_run(tx, tenant)

    first = _end(tx, run, tenant, None)
    assert (first.live, first.claimed, first.complete) == (True, ("a",), False)
    assert _end(tx, run, tenant, None).claimed == ()  # this epoch sent it already

    assert _begin(tx, run, tenant, "a").attempts == 1
    again = _begin(tx, run, tenant, "a")
    assert (again.attempts, again.stale, dict(again.view.results)) == (2, None, {})

    recorded = _end(tx, run, tenant, "a", result={"x": 1})
    assert (recorded.recorded, recorded.claimed) == (True, ("b", "c"))
    late = _end(tx, run, tenant, "a", result={"x": 2})
    assert (late.recorded, late.claimed) == (False, ())  # first writer wins, nothing is sent twice
    after = _begin(tx, run, tenant, "a")
    assert (after.attempts, dict(after.view.results)) == (0, {"a": {"x": 1}})

    assert _begin(tx, run, tenant, "b", epoch=0).stale == "epoch 0 is stale; the run is driven by epoch 1"
    stale_end = _end(tx, run, tenant, "b", epoch=0, result={"y": 1})
    assert (stale_end.recorded, stale_end.claimed) == (True, ())  # its result stands; the driver sends what follows
    assert _end(tx, run, tenant, "c", result={"z": 1}).claimed == ("d",)
    last = _end(tx, run, tenant, "d", result={"w": 1})
    assert (last.recorded, last.complete) == (True, True)

    with tx() as ledger:
        assert ledger.finish(run, tenant, status=RunStatus.COMPLETED, epoch=1, context=None)
    assert _begin(tx, run, tenant, "d").stale == "the run is completed"
    assert _end(tx, run, tenant, None).live is False


def test_a_step_of_another_tenants_run_finds_no_run_and_writes_nothing(tx: Tx, tenant: uuid.UUID) -> None:
    run, other = _new_run(tx, tenant), uuid.uuid4()

    assert _begin(tx, run, other, "a").stale == "the run does not exist"
    assert _end(tx, run, other, "a", result={"x": 1}).live is False

    with tx() as ledger:
        RunRepository(ledger.session)._scope(tenant)
        steps = ledger.session.query(RunStep).filter(RunStep.run_id == run).all()
    assert steps == []


def test_a_start_counts_attempts_and_extends_the_lease(tx: Tx, tenant: uuid.UUID) -> None:
    run = _new_run(tx, tenant)
    _begin(tx, run, tenant, "a")
    with tx() as ledger:
        RunRepository(ledger.session)._scope(tenant)
        row = ledger.session.get(Run, run)
        step = ledger.session.get(RunStep, (run, "a"))
        assert row is not None and step is not None
        assert (row.status, row.lease_expires_at is not None) == ("running", True)
        assert (step.outcome, step.attempts, step.queue, step.hostname, step.task_id) == ("running", 1, "q", "h", "t")


def test_admission_starts_the_oldest_queued_runs_up_to_the_cap(tx: Tx, tenant: uuid.UUID) -> None:
    live = _new_run(tx, tenant)  # pending: one of the cap's two places is taken
    queued = []
    for minute in range(3):
        run_id = uuid.uuid4()
        with tx() as ledger:
            RunRepository(ledger.session).add(
                Run(
                    id=run_id,
                    tenant_id=tenant,
                    campaign_id=uuid.uuid4(),
                    workflow_name="wf",
                    status="queued",
                    created_at=datetime(2026, 1, 1, 0, 10 - minute, tzinfo=UTC),
                )
            )
        queued.append(run_id)
    oldest = queued[-1]

    with tx() as ledger:
        assert ledger.admit(tenant, 2, LEASE) == [(oldest, 1)]
    with tx() as ledger:
        assert ledger.admit(tenant, 2, LEASE) == []  # at the cap
        assert ledger.finish(live, tenant, status=RunStatus.COMPLETED, epoch=None, context=None)
    with tx() as ledger:
        assert ledger.admit(tenant, 5, LEASE) == [(queued[1], 1), (queued[0], 1)]
        assert ledger.admit(uuid.uuid4(), 5, LEASE) == []  # another tenant has nothing queued
