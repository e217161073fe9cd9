"""The process's one heartbeat thread renews the lease of every step it holds, and only while it holds it, on
PostgreSQL as the managed owner (row-level security binds it)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from context.ledger import Ledger, autocommit_ledger
from context.runs import Run, RunRepository, RunStatus
from context.tenancy import name_tenant
from tasks.heartbeat import Heartbeats, Held

LEASE = timedelta(seconds=0.6)  # a beat every 0.2 s
BEAT_S = LEASE.total_seconds() / 3
LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)


@pytest.fixture
def beats(owner_sessions: sessionmaker[Session]) -> Iterator[tuple[Heartbeats, list[uuid.UUID]]]:
    renewed: list[uuid.UUID] = []

    def renew(held: Held) -> bool:
        with autocommit_ledger(owner_sessions.kw["bind"]) as ledger:
            alive = ledger.heartbeat(held.run_id, held.tenant_id, held.epoch, held.lease)
        renewed.append(held.run_id)
        return alive

    yield Heartbeats(renew), renewed


def _new_run(sessions: sessionmaker[Session], tenant: uuid.UUID) -> uuid.UUID:
    run_id = uuid.uuid4()
    with sessions() as s, s.begin():
        RunRepository(s).add(Run(id=run_id, tenant_id=tenant, campaign_id=uuid.uuid4(), workflow_name="wf",
                                 status="running", epoch=1, lease_expires_at=LONG_AGO))  # fmt: skip
    return run_id


def _leases(sessions: sessionmaker[Session], tenant: uuid.UUID, runs: list[uuid.UUID]) -> dict[uuid.UUID, Any]:
    with sessions() as s, s.begin():
        name_tenant(s, tenant)
        rows = s.execute(text("SELECT id, lease_expires_at FROM app.runs WHERE id = ANY(:runs)"), {"runs": runs})
        return {r.id: r.lease_expires_at for r in rows}


def _wait(condition: Callable[[], bool], beats: int, what: str) -> None:
    deadline = time.monotonic() + beats * BEAT_S + 5  # + 5 s for a loaded machine's database
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(BEAT_S / 4)


def test_one_thread_renews_every_step_it_holds_and_stops_with_each_step(
    beats: tuple[Heartbeats, list[uuid.UUID]], owner_sessions: sessionmaker[Session], tenant: uuid.UUID
) -> None:
    heartbeats, renewed = beats
    runs = [_new_run(owner_sessions, tenant) for _ in range(3)]
    tokens = [heartbeats.start(run, tenant, 1, LEASE) for run in runs]

    # Every held run is renewed (by the database's clock), more than once.
    _wait(lambda: all(renewed.count(run) >= 2 for run in runs), beats=4, what="two renewals of every held run")
    leases = _leases(owner_sessions, tenant, runs)
    assert all(lease > LONG_AGO for lease in leases.values())

    heartbeats.stop(tokens[0])  # the first step finished
    stopped_at = renewed.count(runs[0])
    before = _leases(owner_sessions, tenant, runs)
    others = {run: renewed.count(run) for run in runs[1:]}
    _wait(lambda: all(renewed.count(r) >= n + 3 for r, n in others.items()), beats=6, what="three more beats")

    after = _leases(owner_sessions, tenant, runs)
    assert renewed.count(runs[0]) <= stopped_at + 1  # at most a renewal already under way when it stopped
    assert after[runs[0]] <= before[runs[0]] + LEASE  # and nothing after that one
    assert all(after[run] > before[run] for run in runs[1:])  # the steps still running are still held
    assert [h.run_id for h in heartbeats.holding()] == runs[1:]
    for token in tokens[1:]:
        heartbeats.stop(token)
    assert heartbeats.holding() == []

    # The thread idles with nothing to hold; a step that starts later is held too.
    time.sleep(BEAT_S)
    later = _new_run(owner_sessions, tenant)
    with heartbeats.hold(later, tenant, 1, LEASE):
        _wait(lambda: renewed.count(later) >= 1, beats=2, what="the later step's first beat")


def test_a_run_that_ended_is_no_longer_held(
    beats: tuple[Heartbeats, list[uuid.UUID]], owner_sessions: sessionmaker[Session], tenant: uuid.UUID
) -> None:
    heartbeats, renewed = beats
    ended, live = _new_run(owner_sessions, tenant), _new_run(owner_sessions, tenant)
    with owner_sessions() as s, s.begin():
        assert Ledger(s).finish(ended, tenant, status=RunStatus.CANCELLED, epoch=None, context=None)
    with heartbeats.hold(ended, tenant, 1, LEASE), heartbeats.hold(live, tenant, 1, LEASE):
        _wait(lambda: [h.run_id for h in heartbeats.holding()] == [live], beats=3, what="the ended run to be let go")
        seen = renewed.count(ended)
        _wait(lambda: renewed.count(live) >= 3, beats=5, what="three beats of the live run")
        assert renewed.count(ended) == seen == 1  # asked once, told the run ended, never asked again
    assert heartbeats.holding() == []


def test_a_step_wakes_the_thread_only_when_its_first_beat_is_due_before_the_thread_looks_again(
    beats: tuple[Heartbeats, list[uuid.UUID]], owner_sessions: sessionmaker[Session], tenant: uuid.UUID
) -> None:
    heartbeats, renewed = beats
    first, quick = _new_run(owner_sessions, tenant), _new_run(owner_sessions, tenant)
    with heartbeats.hold(first, tenant, 1, LEASE):
        _wait(lambda: heartbeats._wake_at is not None, beats=1, what="the thread to wait for the first beat")
        # Steps whose first beat comes after the one the thread waits for: it finds them when it looks, unwoken.
        for _ in range(50):
            with heartbeats.hold(_new_run(owner_sessions, tenant), tenant, 1, LEASE * 10):
                pass
        assert heartbeats.wakeups == 0
        _wait(lambda: renewed.count(first) >= 2, beats=3, what="the first run's beats")
        # A step whose first beat is due sooner than the thread would look wakes it, and is beaten on time.
        _wait(lambda: (heartbeats._wake_at or 0) - time.monotonic() > BEAT_S / 2, beats=2, what="a wait of 0.1 s")
        with heartbeats.hold(quick, tenant, 1, LEASE / 6):  # first beat due in 0.05 s
            _wait(lambda: renewed.count(quick) >= 2, beats=2, what="the quick run's beats")
        assert heartbeats.wakeups >= 1
