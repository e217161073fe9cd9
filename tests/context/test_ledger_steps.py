"""The ledger's rules, one SQL function each, on PostgreSQL as a role row-level security binds (the suite's owner
is a managed database's admin: no SUPERUSER, no BYPASSRLS, tables under FORCE ROW LEVEL SECURITY)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, event, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from context.db import autocommit_engine
from context.errors import UnauthorizedError
from context.ledger import HeldLedger, Ledger, StepEnd, StepStart, autocommit_ledger
from context.runs import Run, RunRepository, RunStatus, RunStep, StepOutcome
from context.tenancy import name_tenant, tenant_scope

DEPS = {"a": [], "b": ["a"], "c": ["a"], "d": ["b", "c"]}
LEASE = timedelta(seconds=60)


class Tx:
    """`tx()`: a Ledger in a transaction of its own. `tx.call()`: the Ledger the single-call rules (begin_step,
    end_step, heartbeat, unclaim, finish, admit) run on: in a transaction, or, as the step path does, each call its
    own statement on this thread's held connection in autocommit (the fixture runs each test both ways)."""

    def __init__(self, sessions: sessionmaker[Session], autocommit: bool) -> None:
        self.sessions, self.autocommit = sessions, autocommit
        self.held = HeldLedger(sessions.kw["bind"])

    @contextmanager
    def __call__(self) -> Iterator[Ledger]:
        with self.sessions() as s, s.begin():
            yield Ledger(s)

    def call(self) -> AbstractContextManager[Ledger]:
        return self.held() if self.autocommit else self()


@pytest.fixture(params=[False, True], ids=["in-transaction", "autocommit"])
def tx(owner_sessions: sessionmaker[Session], request: pytest.FixtureRequest) -> Iterator[Tx]:
    made = Tx(owner_sessions, request.param)
    yield made
    made.held.release_all()


@pytest.fixture
def autocommit_tx(owner_sessions: sessionmaker[Session]) -> Iterator[Tx]:
    made = Tx(owner_sessions, autocommit=True)
    yield made
    made.held.release_all()


def _new_run(tx: Tx, tenant: uuid.UUID, **fields: Any) -> uuid.UUID:
    run_id = uuid.uuid4()
    values = {"status": "pending", "epoch": 1, **fields}
    with tx() as ledger:
        RunRepository(ledger.session).add(
            Run(id=run_id, tenant_id=tenant, campaign_id=uuid.uuid4(), workflow_name="wf", **values)
        )
    return run_id


def _begin(tx: Tx, run: uuid.UUID, tenant: uuid.UUID, step: str, epoch: int = 1) -> StepStart:
    with tx.call() as ledger:
        return ledger.begin_step(run, tenant, step, epoch, queue="q", hostname="h", task_id="t", lease=LEASE)


def _end(tx: Tx, run: uuid.UUID, tenant: uuid.UUID, step: str | None, epoch: int = 1, result: object = None) -> StepEnd:
    with tx.call() as ledger:
        outcome = StepOutcome.EXECUTED if result is not None else None
        return ledger.end_step(
            run, tenant, step, epoch, deps=DEPS, lease=LEASE, outcome=outcome, reason="r",
            result=result,  # type: ignore[arg-type]
        )  # fmt: skip


def _row(tx: Tx, tenant: uuid.UUID, run: uuid.UUID, sql: str) -> Any:
    with tx() as ledger:
        name_tenant(ledger.session, tenant)
        return ledger.session.execute(text(sql), {"run": run}).one()


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
        name_tenant(ledger.session, tenant)
        steps = ledger.session.query(RunStep).filter(RunStep.run_id == run).all()
    assert steps == []


def test_a_start_holds_the_run_for_exactly_the_lease_by_the_databases_clock(tx: Tx, tenant: uuid.UUID) -> None:
    run = _new_run(tx, tenant)
    with tx() as ledger:
        ledger.begin_step(run, tenant, "a", 1, queue="q", hostname="h", task_id="t", lease=LEASE)
        held = ledger.session.execute(text("SELECT lease_expires_at - now() FROM app.runs WHERE id = :run"),
                                      {"run": run}).scalar_one()  # fmt: skip
    assert held == LEASE
    with tx() as ledger:
        name_tenant(ledger.session, tenant)
        row = ledger.session.get(Run, run)
        step = ledger.session.get(RunStep, (run, "a"))
        assert row is not None and step is not None
        assert row.status == "running"
        assert (step.outcome, step.attempts, step.queue, step.hostname, step.task_id) == ("running", 1, "q", "h", "t")


def test_a_finished_step_no_longer_holds_the_run_beyond_one_lease(tx: Tx, tenant: uuid.UUID) -> None:
    run = _new_run(tx, tenant, lease_expires_at=datetime(2099, 1, 1, tzinfo=UTC))  # an allowance of old
    _end(tx, run, tenant, None)
    with tx() as ledger:
        ledger.end_step(run, tenant, "a", 1, deps=DEPS, lease=LEASE, outcome=StepOutcome.EXECUTED, reason="r",
                        result={"x": 1})  # fmt: skip
        held = ledger.session.execute(text("SELECT lease_expires_at - now() FROM app.runs WHERE id = :run"),
                                      {"run": run}).scalar_one()  # fmt: skip
    assert held == LEASE


def test_attempts_count_within_an_epoch_and_start_again_in_the_next(tx: Tx, tenant: uuid.UUID) -> None:
    run = _new_run(tx, tenant)
    assert [_begin(tx, run, tenant, "a").attempts for _ in range(3)] == [1, 2, 3]
    with tx() as ledger:
        name_tenant(ledger.session, tenant)
        ledger.session.execute(text("UPDATE app.runs SET epoch = 2 WHERE id = :run"), {"run": run})
    assert _begin(tx, run, tenant, "a", epoch=2).attempts == 1


def test_a_heartbeat_holds_the_run_only_for_the_epoch_that_drives_it(tx: Tx, tenant: uuid.UUID) -> None:
    run = _new_run(tx, tenant, lease_expires_at=datetime(2000, 1, 1, tzinfo=UTC))
    with tx.call() as ledger:
        assert not ledger.heartbeat(run, tenant, 0, LEASE)  # a taken-over epoch holds nothing
        assert ledger.heartbeat(run, tenant, 1, LEASE)
    held = _row(tx, tenant, run, "SELECT lease_expires_at - now() AS held FROM app.runs WHERE id = :run").held
    assert LEASE - timedelta(seconds=5) < held <= LEASE
    with tx() as ledger:
        assert ledger.finish(run, tenant, status=RunStatus.CANCELLED, epoch=None, context=None)
    with tx.call() as ledger:
        assert not ledger.heartbeat(run, tenant, 1, LEASE)


def test_a_released_claim_is_claimed_again_by_the_same_epoch(tx: Tx, tenant: uuid.UUID) -> None:
    run = _new_run(tx, tenant)
    assert _end(tx, run, tenant, None).claimed == ("a",)
    with tx.call() as ledger:
        assert ledger.unclaim(run, tenant, 1, ["a"]) == ["a"]
    assert _end(tx, run, tenant, None).claimed == ("a",)


def test_ending_a_run_ends_its_unfinished_steps(tx: Tx, tenant: uuid.UUID) -> None:
    run = _new_run(tx, tenant)
    _end(tx, run, tenant, None)
    _begin(tx, run, tenant, "a")
    _end(tx, run, tenant, "a", result={"x": 1})  # claims b and c
    _begin(tx, run, tenant, "b")
    with tx() as ledger:
        assert ledger.finish(run, tenant, status=RunStatus.FAILED, epoch=1, context=None, error="boom",
                             failed_step="b")  # fmt: skip
    with tx() as ledger:
        steps = RunRepository(ledger.session).steps(run, tenant_id=tenant)
    assert {s.step_id: s.outcome for s in steps} == {"a": "executed", "b": "failed", "c": "cancelled"}


def test_admission_starts_the_oldest_queued_runs_up_to_the_cap(tx: Tx, tenant: uuid.UUID) -> None:
    live = _new_run(tx, tenant)  # pending: one of the cap's two places is taken
    queued = [
        _new_run(tx, tenant, status="queued", epoch=0, created_at=datetime(2026, 1, 1, 0, 10 - minute, tzinfo=UTC))
        for minute in range(3)
    ]
    oldest = queued[-1]

    with tx.call() as ledger:
        assert ledger.admit(tenant, 2, LEASE) == [(oldest, 1)]
        assert ledger.admit(tenant, 2, LEASE) == []  # at the cap
        assert ledger.finish(live, tenant, status=RunStatus.COMPLETED, epoch=None, context=None)
        assert ledger.admit(tenant, 5, LEASE) == [(queued[1], 1), (queued[0], 1)]
        assert ledger.admit(uuid.uuid4(), 5, LEASE) == []  # another tenant has nothing queued


def test_a_resumed_run_waits_for_a_place_in_its_tenants_share(tx: Tx, tenant: uuid.UUID) -> None:
    live = _new_run(tx, tenant)
    failed = _new_run(tx, tenant, status="failed")
    with tx() as ledger:
        assert ledger.requeue(failed, tenant, from_statuses=(RunStatus.FAILED,))
        assert ledger.admit(tenant, 1, LEASE) == []  # the cap is taken by the live run
        assert ledger.finish(live, tenant, status=RunStatus.COMPLETED, epoch=None, context=None)
        assert ledger.admit(tenant, 1, LEASE) == [(failed, 2)]


def _sweep(tx: Tx, tenant: uuid.UUID, run: uuid.UUID, **kw: Any) -> tuple[str, int, int]:
    args: dict[str, Any] = {"lease": LEASE, "max_sweeps": 2, "lost_before": None, "waiting_ok": [], **kw}
    with tx() as ledger:
        d = ledger.sweep_run(run, tenant, **args)
    return d.action, d.epoch, d.sweeps


def _expire(tx: Tx, tenant: uuid.UUID, run: uuid.UUID) -> None:
    with tx() as ledger:
        name_tenant(ledger.session, tenant)
        ledger.session.execute(text("UPDATE app.runs SET lease_expires_at = now() - interval '1 s' WHERE id = :run"),
                               {"run": run})  # fmt: skip


def test_the_sweeper_leaves_a_run_alone_while_its_lease_holds(tx: Tx, tenant: uuid.UUID) -> None:
    run = _new_run(tx, tenant, lease_expires_at=datetime(2099, 1, 1, tzinfo=UTC))
    _end(tx, run, tenant, None)
    assert _sweep(tx, tenant, run) == ("progress", 1, 0)


def test_a_step_waiting_in_a_queue_that_holds_messages_is_waiting_not_lost(tx: Tx, tenant: uuid.UUID) -> None:
    run = _new_run(tx, tenant)
    _end(tx, run, tenant, None)  # claims a: sent, not started
    _expire(tx, tenant, run)
    assert _sweep(tx, tenant, run, waiting_ok=["a"]) == ("waiting", 1, 0)  # its queue holds messages
    _expire(tx, tenant, run)
    assert _sweep(tx, tenant, run, waiting_ok=["b"]) == ("taken_over", 2, 1)  # a's queue is empty: a is lost


def test_a_running_step_without_heartbeat_is_taken_over_until_the_sweeps_run_out(tx: Tx, tenant: uuid.UUID) -> None:
    run = _new_run(tx, tenant)
    epoch = 1
    for sweeps in (1, 2):
        _end(tx, run, tenant, None, epoch=epoch)
        _begin(tx, run, tenant, "a", epoch=epoch)
        _expire(tx, tenant, run)
        assert _sweep(tx, tenant, run, waiting_ok=["a"]) == ("taken_over", epoch + 1, sweeps)
        epoch += 1
    _end(tx, run, tenant, None, epoch=epoch)
    _begin(tx, run, tenant, "a", epoch=epoch)
    _expire(tx, tenant, run)
    assert _sweep(tx, tenant, run) == ("fail", epoch, 2)


def test_steps_sent_before_the_broker_lost_its_messages_are_resent_at_once(tx: Tx, tenant: uuid.UUID) -> None:
    run = _new_run(tx, tenant, lease_expires_at=datetime(2099, 1, 1, tzinfo=UTC))
    _end(tx, run, tenant, None)
    with tx() as ledger:
        lost = ledger.now() + timedelta(seconds=1)
        assert (run, tenant, "lost") in ledger.sweep_candidates(lost)
    assert _sweep(tx, tenant, run, lost_before=lost, waiting_ok=["a"]) == ("lost", 2, 0)  # not counted against it


def test_a_run_with_nothing_in_flight_is_sent_again_by_the_same_epoch(tx: Tx, tenant: uuid.UUID) -> None:
    run = _new_run(tx, tenant)
    _end(tx, run, tenant, None)
    with tx() as ledger:
        ledger.unclaim(run, tenant, 1, ["a"])  # the broker refused it
    _expire(tx, tenant, run)
    assert _sweep(tx, tenant, run) == ("resend", 1, 0)
    assert _end(tx, run, tenant, None).claimed == ("a",)


def test_the_cross_tenant_functions_see_every_tenant_under_a_managed_owner(
    tx: Tx, tenant: uuid.UUID, owner_sessions: sessionmaker[Session]
) -> None:
    other = uuid.uuid4()
    run = _new_run(tx, other, context={"artifacts": {"x": {"uri": f"file:///{other}.png"}}})
    _expire(tx, other, run)
    with owner_sessions() as s:
        owner_is_bound = s.execute(text("SELECT NOT rolsuper AND NOT rolbypassrls FROM pg_roles "
                                        "WHERE rolname = current_user")).scalar_one()  # fmt: skip
        uris = set(s.execute(text("SELECT app.referenced_artifact_uris()")).scalars())
        name_tenant(s, tenant)
        mine = s.execute(text("SELECT count(*) FROM app.runs WHERE id = :run"), {"run": run}).scalar_one()
        others = s.execute(text("SELECT app.run_of_other_tenant(:run)"), {"run": run}).scalar_one()
        candidates = Ledger(s).sweep_candidates(None)
    assert owner_is_bound  # the suite's database owner is not exempt from row-level security
    assert mine == 0  # RLS hides the other tenant's run from this tenant...
    assert f"file:///{other}.png" in uris and others is True  # ...but not from the inspector's functions
    assert (run, other, "expired") in candidates


def test_a_cancelled_queued_run_never_starts_and_a_cancelled_live_one_frees_its_place(
    tx: Tx, tenant: uuid.UUID
) -> None:
    live = _new_run(tx, tenant)
    waiting = _new_run(tx, tenant, status="queued", epoch=0)
    behind = _new_run(tx, tenant, status="queued", epoch=0)
    with tx() as ledger:
        assert ledger.admit(tenant, 1, LEASE) == []  # the place is taken
        assert ledger.finish(waiting, tenant, status=RunStatus.CANCELLED, epoch=None, context=None, error="x")
        assert ledger.finish(live, tenant, status=RunStatus.CANCELLED, epoch=None, context=None, error="y")
    with tx() as ledger:
        assert ledger.admit(tenant, 1, LEASE) == [(behind, 1)]  # the cancelled queued run is skipped for ever


def test_ending_a_run_tells_its_status_and_its_age_from_submission_to_end_once(tx: Tx, tenant: uuid.UUID) -> None:
    run = _new_run(tx, tenant, created_at=datetime.now(UTC) - timedelta(minutes=3))
    with tx() as ledger:
        end = ledger.finish(run, tenant, status=RunStatus.FAILED, epoch=1, context=None, error="boom")
        age = ledger.session.execute(
            text("SELECT extract(epoch FROM finished_at - created_at) FROM app.runs WHERE id = :run"), {"run": run}
        ).scalar_one()
    assert end is not None and end.status == "failed"
    assert end.age_s == pytest.approx(float(age), abs=1e-6) and end.age_s > 170
    with tx() as ledger:
        assert ledger.finish(run, tenant, status=RunStatus.CANCELLED, epoch=None, context=None) is None


@pytest.mark.parametrize("engine_in_autocommit", [False, True])
def test_a_call_on_its_own_names_its_tenant_for_that_statement_only(
    owner_sessions: sessionmaker[Session], tenant: uuid.UUID, pg_url: str, engine_in_autocommit: bool
) -> None:
    tx = Tx(owner_sessions, autocommit=True)
    run = _new_run(tx, tenant)
    engine = autocommit_engine(pg_url) if engine_in_autocommit else owner_sessions.kw["bind"]
    with autocommit_ledger(engine) as ledger:
        assert ledger.end_step(run, tenant, None, 1, deps=DEPS, lease=LEASE).claimed == ("a",)  # RLS let it see
        assert isinstance(ledger.session, Connection)
        # The naming ended with the statement: the pooled connection carries no tenant to its next user.
        left = ledger.session.execute(text("SELECT current_setting('app.tenant_id', true)")).scalar_one()
        assert left in (None, "")
        with tenant_scope(tenant), pytest.raises(UnauthorizedError):
            ledger.heartbeat(run, uuid.uuid4(), 1, LEASE)  # another tenant than the unit of work's
    if engine_in_autocommit:
        engine.dispose()


@pytest.fixture
def commit_modes(owner_sessions: sessionmaker[Session]) -> Iterator[Connection]:
    """A probe recording, at each commit that touched app.runs, whether that commit waited for the disk: a deferred
    constraint trigger runs at commit time, when synchronous_commit holds the value the commit uses."""
    bind = owner_sessions.kw["bind"]
    with bind.connect() as conn:
        conn.execute(text("CREATE TABLE app.commit_probe (id serial PRIMARY KEY, mode text NOT NULL)"))
        conn.execute(text(
            "CREATE FUNCTION app.probe_commit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "INSERT INTO app.commit_probe (mode) VALUES (current_setting('synchronous_commit')); RETURN NULL; END $$"
        ))  # fmt: skip
        conn.execute(text(
            "CREATE CONSTRAINT TRIGGER probe_commit AFTER UPDATE ON app.runs DEFERRABLE INITIALLY DEFERRED "
            "FOR EACH ROW EXECUTE FUNCTION app.probe_commit()"
        ))  # fmt: skip
        conn.commit()
        try:
            yield conn
        finally:
            conn.rollback()
            conn.execute(text("DROP TRIGGER probe_commit ON app.runs"))
            conn.execute(text("DROP FUNCTION app.probe_commit()"))
            conn.execute(text("DROP TABLE app.commit_probe"))
            conn.commit()


def test_a_steps_start_and_heartbeats_commit_without_waiting_for_the_disk_and_what_is_sent_after_does_wait(
    autocommit_tx: Tx, commit_modes: Connection, tenant: uuid.UUID
) -> None:
    tx = autocommit_tx
    run = _new_run(tx, tenant)

    def mode_of(call: Any) -> str:
        before = commit_modes.execute(text("SELECT count(*) FROM app.commit_probe")).scalar_one()
        commit_modes.commit()
        call()
        modes = commit_modes.execute(text("SELECT mode FROM app.commit_probe ORDER BY id OFFSET :n"), {"n": before})
        commit_modes.commit()
        (mode,) = set(modes.scalars())
        return str(mode)

    assert mode_of(lambda: _end(tx, run, tenant, None)) == "on"  # claims "a": a message is sent after it
    assert mode_of(lambda: _begin(tx, run, tenant, "a")) == "off"
    with tx.call() as ledger:
        assert mode_of(lambda: ledger.heartbeat(run, tenant, 1, LEASE)) == "off"
    assert mode_of(lambda: _end(tx, run, tenant, "a", result={"x": 1})) == "on"
    with tx.call() as ledger:
        assert mode_of(lambda: ledger.finish(run, tenant, status=RunStatus.COMPLETED, epoch=1, context=None)) == "on"


def test_a_held_ledger_keeps_one_connection_per_thread_and_drops_one_whose_call_failed(
    owner_sessions: sessionmaker[Session], tenant: uuid.UUID
) -> None:
    engine = autocommit_engine(owner_sessions.kw["bind"].url.render_as_string(hide_password=False))
    checkouts: list[int] = []
    event.listen(engine, "checkout", lambda dbapi, record, proxy: checkouts.append(id(dbapi)))
    held = HeldLedger(engine)
    run = _new_run(Tx(owner_sessions, autocommit=True), tenant)
    try:
        for _ in range(5):
            with held() as ledger:
                assert ledger.heartbeat(run, tenant, 1, LEASE)
        assert len(checkouts) == 1  # five calls, one checkout

        def other_thread() -> None:
            with held() as ledger:
                ledger.heartbeat(run, tenant, 1, LEASE)

        worker = threading.Thread(target=other_thread)
        worker.start()
        worker.join()
        assert len(checkouts) == 2 and checkouts[0] != checkouts[1]  # its own connection, not this thread's
        assert engine.pool.checkedout() == 2  # the thread ended; its connection is still held, until release_all

        with pytest.raises(DBAPIError), held() as ledger:
            ledger.session.execute(text("SELECT 1 / 0"))
        with held() as ledger:  # a new connection: the one whose call failed is never used again
            assert ledger.heartbeat(run, tenant, 1, LEASE)
        assert len(checkouts) == 3 and checkouts[2] != checkouts[0]
        held.release_all()
        assert engine.pool.checkedout() == 0
    finally:
        held.release_all()
        engine.dispose()
