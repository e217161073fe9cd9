"""When a step was sent (app.run_steps.sent_at, migration 0016): stamped by the claim, kept by the start, cleared
when the claim is released, stamped again by the next send; the run page's queue wait is started_at - sent_at."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from context.tenancy import name_tenant
from tests.context.test_ledger_steps import Tx, _begin, _end, _new_run


@pytest.fixture(params=[False, True], ids=["in-transaction", "autocommit"])
def tx(owner_sessions: sessionmaker[Session], request: pytest.FixtureRequest) -> Tx:
    return Tx(owner_sessions, request.param)


_TIMES = text("SELECT sent_at, started_at, updated_at, outcome FROM app.run_steps WHERE run_id = :run AND step_id = :s")


def _times(tx: Tx, tenant: uuid.UUID, run: uuid.UUID, step: str) -> Any:
    with tx() as ledger:
        name_tenant(ledger.session, tenant)
        return ledger.session.execute(_TIMES, {"run": run, "s": step}).one()


def test_a_claim_stamps_sent_at_and_the_start_keeps_it(tx: Tx, tenant: uuid.UUID) -> None:
    run = _new_run(tx, tenant)
    assert _end(tx, run, tenant, None).claimed == ("a",)
    claimed = _times(tx, tenant, run, "a")
    assert claimed.outcome == "queued" and claimed.sent_at == claimed.updated_at  # the claim's own transaction

    _begin(tx, run, tenant, "a")
    started = _times(tx, tenant, run, "a")
    assert started.sent_at == claimed.sent_at  # the start leaves it
    assert started.started_at > started.sent_at

    recorded = _end(tx, run, tenant, "a", result={"x": 1})
    assert recorded.claimed == ("b", "c")
    assert _times(tx, tenant, run, "a").sent_at == claimed.sent_at  # recording the result leaves it too
    assert _times(tx, tenant, run, "b").sent_at > started.started_at


def test_a_released_claim_has_no_sent_at_and_the_next_send_stamps_it_again(tx: Tx, tenant: uuid.UUID) -> None:
    run = _new_run(tx, tenant)
    _end(tx, run, tenant, None)
    first = _times(tx, tenant, run, "a").sent_at
    with tx() as ledger:
        assert ledger.unclaim(run, tenant, 1, ["a"]) == ["a"]
    assert _times(tx, tenant, run, "a").sent_at is None

    assert _end(tx, run, tenant, None).claimed == ("a",)  # sent again
    assert _times(tx, tenant, run, "a").sent_at > first
