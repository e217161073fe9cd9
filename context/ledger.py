"""The run's ledger: who drives it (epoch), what holds it (lease), and each step's result, recorded once.

Every rule is one SQL function in alembic/sql (one round trip each, under the run's row lock) or one statement here.
Writes are compare-and-set on the run's status and, for a driver's writes, its epoch: a driver that was taken over,
a stale redelivery or a writer after a cancel changes nothing of what drives the run. A stale delivery never starts
work (step_start refuses it); a delivery that already finished its work keeps its result (recorded once, first
writer wins: it is valid work), but only the run's current epoch sends what follows.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, TextClause, func, literal, select, text
from sqlalchemy.orm import Session

from context.models import CampaignContext
from context.runs import LIVE_STATUSES, Run, RunStatus, RunStep, StepOutcome
from context.tenancy import name_tenant, naming_tenant, tenant_params

_LIVE = [s.value for s in LIVE_STATUSES]


@dataclass(frozen=True)
class RunView:
    """What a step task needs of its run: whether it may act, the starting context, recorded results."""

    status: str
    epoch: int
    context: dict[str, Any] | None
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    forced: frozenset[str] = frozenset()
    sweeps: int = 0
    recorded: frozenset[str] = frozenset()  # steps with a recorded result (also in a view without documents)

    @property
    def live(self) -> bool:
        return self.status in _LIVE


@dataclass(frozen=True)
class StepStart:
    view: RunView
    attempts: int = 0
    stale: str | None = None  # why this delivery must not act: the run ended, or another epoch drives it


def _stale(view: RunView, epoch: int) -> str | None:
    """Why a delivery of `epoch` must not act on the run `view` shows, or None."""
    if view.status == "missing":
        return "the run does not exist"
    if not view.live:
        return f"the run is {view.status}"
    if view.epoch != epoch:
        return f"epoch {epoch} is stale; the run is driven by epoch {view.epoch}"
    return None


@dataclass(frozen=True)
class StepEnd:
    """What a step's last transaction did: recorded its result, and which steps this epoch now sends."""

    live: bool
    recorded: bool = False
    claimed: tuple[str, ...] = ()
    complete: bool = False  # every step of the graph has a recorded result
    update: bool = False  # the run updates a base run: what it claimed may be reusable without executing
    final_context: CampaignContext | None = None  # complete, and the caller knew every result: the final context


@dataclass(frozen=True)
class RunEnd:
    """A run that a call ended: its new status, and its age at the end (from its row's creation, i.e. submission)."""

    status: str
    age_s: float


@dataclass(frozen=True)
class SweepDecision:
    """What app.sweep_run decided for one run (see alembic/sql/16_sweep_run.sql for each action)."""

    action: str
    epoch: int = -1
    sweeps: int = 0


@dataclass(frozen=True)
class _Call:
    """One function call of the ledger, as a statement in a transaction that named its tenant already, and as a
    statement that is its own transaction and names the tenant itself (a connection in autocommit)."""

    in_transaction: TextClause
    on_its_own: TextClause


def _call_of(select_list: str, *, durable: bool = True) -> _Call:
    return _Call(text(f"SELECT {select_list}"), naming_tenant(select_list, durable=durable))


# A step's start and its heartbeats commit without waiting for the disk: a database crash that loses them loses an
# attempt count, a "running" mark and some lease (the sweeper may take the run over a little early, which is safe),
# and the step's own end, a durable commit, flushes them first. Everything after which a message is sent (end_step's
# claims, a run's end) waits for the disk: a message must never point at a state a crash could take back.
_STEP_START = _call_of("app.step_start(:run, :step, :epoch, :queue, :hostname, :task_id, :lease_s)", durable=False)
_STEP_FINISH = _call_of(
    "app.step_finish(:run, :step, :epoch, :outcome, :reason, CAST(:result AS jsonb), :lease_s, CAST(:deps AS jsonb))"
)
_HEARTBEAT = _call_of("app.step_heartbeat(:run, :epoch, :lease_s)", durable=False)
_UNCLAIM = _call_of("app.unclaim_steps(:run, :epoch, :steps)")
# now() is the transaction's start, the finished_at end_run writes: the age is finished_at - created_at, whichever
# of the two expressions runs first, in the same round trip.
_END_RUN = _call_of(
    "app.end_run(:run, :status, CAST(:epoch AS integer), CAST(:context AS jsonb), :error, :failed_step) "
    "AS ended, (SELECT CAST(extract(epoch FROM now() - r.created_at) AS float8) FROM app.runs AS r "
    "WHERE r.id = :run AND r.tenant_id = app.tenant()) AS age_s"
)
# A set-returning call on its own: in the select list of the naming statement (run once, after the naming), its
# rows' fields read outside it (PostgreSQL keeps a subquery with a set-returning select list as it is).
_ADMIT = _Call(
    text("SELECT run_id, epoch FROM app.admit_runs(:cap, :lease_s)"),
    text(
        f"SELECT (a).run_id, (a).epoch FROM ({naming_tenant('app.admit_runs(:cap, :lease_s) AS a').text}) AS admitted"
    ),
)
_SWEEP_RUN = text("SELECT app.sweep_run(:run, :lease_s, :max_sweeps, :lost_before, :waiting_ok)")
_SWEEP_CANDIDATES = text("SELECT run_id, tenant_id, kind FROM app.sweep_candidates(:lost_before)")
_RECORD_REUSED = text(
    "INSERT INTO app.run_steps AS s (run_id, step_id, tenant_id, outcome, reason, attempts, updated_at, epoch, "
    "result, finished_at) "
    "SELECT :run, x.step, app.tenant(), 'reused', x.reason, 1, now(), :epoch, CAST(:result AS jsonb), now() "
    "FROM jsonb_to_recordset(CAST(:steps AS jsonb)) AS x(step text, reason text) "
    "ON CONFLICT (run_id, step_id) DO UPDATE SET outcome = excluded.outcome, reason = excluded.reason, "
    "updated_at = excluded.updated_at, epoch = excluded.epoch, result = excluded.result, "
    "finished_at = excluded.finished_at WHERE s.result IS NULL "
    "RETURNING s.step_id"
)
_DISCARD = text(
    "DELETE FROM app.runs WHERE id = :run AND tenant_id = app.tenant() AND status = 'queued' AND epoch = 0 RETURNING id"
)
_QUEUE = text(
    "UPDATE app.runs SET status = 'queued', error = NULL, failed_step = NULL, finished_at = NULL, updated_at = now() "
    "WHERE id = :run AND tenant_id = app.tenant() AND status = ANY(:from_statuses) RETURNING epoch"
)


@dataclass(frozen=True)
class Ledger:
    """Tenant-scoped reads and compare-and-set writes for the run driver; the caller owns the transaction.

    On a Session, every call runs in the session's transaction, which names its tenant once. On a Connection in
    autocommit (`HeldLedger`, the per-step path, or `autocommit_ledger`), only the single-call rules may be used
    (begin_step, end_step, heartbeat, unclaim, finish, admit): each is one statement that is its own transaction,
    names its tenant first and costs one round trip.
    """

    session: Session | Connection

    def _call(self, statement: Any, tenant_id: uuid.UUID, **params: Any) -> Any:
        if isinstance(statement, _Call):
            if isinstance(self.session, Connection):
                return self.session.execute(statement.on_its_own, {**params, **tenant_params(tenant_id)})
            statement = statement.in_transaction
        name_tenant(self._session(), tenant_id)
        return self.session.execute(statement, params)

    def _session(self) -> Session:
        if not isinstance(self.session, Session):
            raise TypeError("this rule needs a transaction: use a Ledger on a Session")
        return self.session

    def view(
        self, run_id: uuid.UUID, tenant_id: uuid.UUID, *, lock: bool = False, documents: bool = True
    ) -> RunView | None:
        """The run's state; without `documents`, no context and no result JSON (which steps are recorded only)."""
        name_tenant(self._session(), tenant_id)
        context = Run.context if documents else literal(None).label("context")
        stmt = select(Run.status, Run.epoch, context, Run.forced_steps, Run.sweeps).where(
            Run.id == run_id, Run.tenant_id == tenant_id
        )
        if lock:  # serialises against a concurrent cancel or completion
            stmt = stmt.with_for_update()
        row = self.session.execute(stmt).one_or_none()
        if row is None:
            return None
        result = RunStep.result if documents else literal(None).label("result")
        rows = self.session.execute(
            select(RunStep.step_id, result).where(
                RunStep.run_id == run_id, RunStep.tenant_id == tenant_id, RunStep.result.is_not(None)
            )
        ).all()
        results = {r.step_id: r.result for r in rows} if documents else {}
        return RunView(row.status, row.epoch, row.context, results, frozenset(row.forced_steps or ()), row.sweeps,
                       frozenset(r.step_id for r in rows))  # fmt: skip

    def begin_step(
        self,
        run_id: uuid.UUID,
        tenant_id: uuid.UUID,
        step_id: str,
        epoch: int,
        *,
        queue: str | None,
        hostname: str | None,
        task_id: str | None,
        lease: timedelta,
    ) -> StepStart:
        """Check this delivery may act; if the step has no recorded result, count an attempt of this epoch, note
        where it runs and hold the run for `lease` (the step's heartbeat holds it after that)."""
        got = self._call(_STEP_START, tenant_id, run=run_id, step=step_id, epoch=epoch, queue=queue,
                         hostname=hostname, task_id=task_id, lease_s=lease.total_seconds()).scalar_one()  # fmt: skip
        results = got.get("results") or {}
        view = RunView(got["status"], got["epoch"], got.get("context"), results, frozenset(got.get("forced") or ()),
                       got.get("sweeps", 0), frozenset(results))  # fmt: skip
        stale = _stale(view, epoch)
        return StepStart(view, stale=stale) if stale else StepStart(view, int(got.get("attempts", 0)))

    def heartbeat(self, run_id: uuid.UUID, tenant_id: uuid.UUID, epoch: int, lease: timedelta) -> bool:
        """A running step of `epoch` is alive: hold the run for `lease`; False when the epoch no longer drives it."""
        got = self._call(_HEARTBEAT, tenant_id, run=run_id, epoch=epoch, lease_s=lease.total_seconds()).scalar()
        return bool(got)

    def end_step(
        self,
        run_id: uuid.UUID,
        tenant_id: uuid.UUID,
        step_id: str | None,
        epoch: int,
        *,
        deps: Mapping[str, Sequence[str]],
        lease: timedelta,
        outcome: StepOutcome | None = None,
        reason: str | None = None,
        result: dict[str, Any] | None = None,
    ) -> StepEnd:
        """Record `result` (if given) once, then claim for this epoch every step of `deps` whose producers are all
        recorded; `deps` maps each step of the graph to the steps it reads from."""
        got = self._call(
            _STEP_FINISH, tenant_id, run=run_id, step=step_id, epoch=epoch, outcome=outcome.value if outcome else None,
            reason=reason, result=None if result is None else json.dumps(result), lease_s=lease.total_seconds(),
            deps=json.dumps(deps),
        ).scalar_one()  # fmt: skip
        order = list(deps)
        claimed = tuple(sorted(got["claimed"], key=order.index))
        live, recorded, complete = bool(got["live"]), bool(got["recorded"]), bool(got["complete"])
        return StepEnd(live, recorded, claimed, complete, update=bool(got.get("update")))

    def unclaim(self, run_id: uuid.UUID, tenant_id: uuid.UUID, epoch: int, steps: Sequence[str]) -> list[str]:
        """Release claims whose messages the broker refused: the sweeper finds them ready and unsent."""
        return list(self._call(_UNCLAIM, tenant_id, run=run_id, epoch=epoch, steps=list(steps)).scalar_one())

    def record_reused(
        self,
        run_id: uuid.UUID,
        tenant_id: uuid.UUID,
        epoch: int,
        steps: Sequence[tuple[str, str]],
        *,
        result: dict[str, Any],
    ) -> list[str]:
        """Record `steps` ((step, reason) each) as reused with the same `result` (the delta of a reused step, which
        changes nothing), in one statement; returns the ones recorded by this call. The caller then calls end_step,
        which claims what follows and holds the run."""
        if not steps:
            return []
        rows = self._call(_RECORD_REUSED, tenant_id, run=run_id, epoch=epoch, result=json.dumps(result),
                          steps=json.dumps([{"step": s, "reason": r} for s, r in steps]))  # fmt: skip
        return list(rows.scalars())

    def finish(
        self,
        run_id: uuid.UUID,
        tenant_id: uuid.UUID,
        *,
        status: RunStatus,
        epoch: int | None,
        context: dict[str, Any] | None,
        error: str | None = None,
        failed_step: str | None = None,
    ) -> RunEnd | None:
        """End a live run (completed, failed, cancelled: a queued one too); with `epoch`, only as that epoch's
        driver. Its unfinished steps end with it (the failed step failed, the others cancelled). None when the
        run was not this call's to end."""
        document = None if context is None else json.dumps(context)
        got = self._call(_END_RUN, tenant_id, run=run_id, status=status.value, epoch=epoch, error=error,
                         context=document, failed_step=failed_step).one()  # fmt: skip
        return RunEnd(status.value, float(got.age_s)) if got.ended else None

    def requeue(self, run_id: uuid.UUID, tenant_id: uuid.UUID, *, from_statuses: tuple[RunStatus, ...]) -> bool:
        """Put a run back in its tenant's queue (a resume): admission gives it a new epoch under the fair share."""
        got = self._call(_QUEUE, tenant_id, run=run_id, from_statuses=[s.value for s in from_statuses])
        return got.first() is not None

    def discard_queued(self, run_id: uuid.UUID, tenant_id: uuid.UUID) -> bool:
        """Delete a run that is still queued and never admitted (its submitter could not send its start)."""
        got = self._call(_DISCARD, tenant_id, run=run_id)
        return got.first() is not None

    def admit(self, tenant_id: uuid.UUID, cap: int, lease: timedelta) -> list[tuple[uuid.UUID, int]]:
        """Move the tenant's oldest queued runs to pending while it runs fewer than `cap`; (run, epoch) each."""
        rows = self._call(_ADMIT, tenant_id, cap=cap, lease_s=lease.total_seconds()).all()
        return [(r.run_id, int(r.epoch)) for r in rows]  # oldest first

    def sweep_run(
        self,
        run_id: uuid.UUID,
        tenant_id: uuid.UUID,
        *,
        lease: timedelta,
        max_sweeps: int,
        lost_before: datetime | None,
        waiting_ok: Sequence[str],
    ) -> SweepDecision:
        """Decide, under the run's lock, what the sweeper does with it (app.sweep_run)."""
        got = self._call(_SWEEP_RUN, tenant_id, run=run_id, lease_s=lease.total_seconds(), max_sweeps=max_sweeps,
                         lost_before=lost_before, waiting_ok=list(waiting_ok)).scalar_one()  # fmt: skip
        return SweepDecision(got["action"], int(got.get("epoch", -1)), int(got.get("sweeps", 0)))

    def sweep_candidates(self, lost_before: datetime | None) -> list[tuple[uuid.UUID | None, uuid.UUID, str]]:
        """(run, tenant, 'expired' | 'lost') for live runs to look at; (None, tenant, 'queued') per waiting tenant."""
        rows = self.session.execute(_SWEEP_CANDIDATES, {"lost_before": lost_before})
        return [(r.run_id, r.tenant_id, r.kind) for r in rows]

    def now(self) -> datetime:
        """The database's clock: the one every lease is measured by."""
        return self.session.execute(select(func.now())).scalar_one()


class HeldLedger:
    """`autocommit_ledger` on one connection per thread, kept between calls: the per-step path makes a few ledger
    calls per step, and checking a connection out of the pool and back in cost as much CPU as the call itself.

    A call that raises (an outage, a time limit mid-statement) drops its thread's connection, invalidated, so a
    connection in an unknown state is never used again; the next call opens another. A forked child starts with
    none (a socket shared by two processes interleaves the protocol). Only for an engine that lives as long as its
    process (a worker's): a held connection is released with the thread or the process, not by Engine.dispose.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._local = threading.local()
        self._lock = threading.Lock()
        self._held: set[Connection] = set()  # every thread's, so that one call can close them all
        os.register_at_fork(after_in_child=self._forget)

    def _forget(self) -> None:
        self._local = threading.local()
        self._lock = threading.Lock()
        self._held = set()

    def _drop(self, connection: Connection | None) -> None:
        self._local.connection = None
        if connection is not None:
            with self._lock:
                self._held.discard(connection)

    def release(self) -> None:
        """Give this thread's connection back to the pool (a test's end, a thread that stops making calls)."""
        connection: Connection | None = getattr(self._local, "connection", None)
        self._drop(connection)
        if connection is not None:
            connection.close()

    def release_all(self) -> None:
        """Close every thread's connection: when a pool of threads stops (the embedded worker, a worker process
        that exits), so that none is left for the garbage collector."""
        with self._lock:
            held, self._held = self._held, set()
        for connection in held:
            with suppress(Exception):
                connection.close()

    @contextmanager
    def __call__(self) -> Iterator[Ledger]:
        connection: Connection | None = getattr(self._local, "connection", None)
        if connection is None or connection.closed or connection.invalidated:
            connection = self._local.connection = _autocommit_connection(self.engine)
            with self._lock:
                self._held.add(connection)
        try:
            yield Ledger(connection)
        except BaseException:
            self._drop(connection)
            with suppress(Exception):
                connection.invalidate()
                connection.close()
            raise


@contextmanager
def autocommit_ledger(engine: Engine) -> Iterator[Ledger]:
    """A Ledger on a pooled connection in autocommit, for the single-call rules: one round trip per call. Cheapest
    on an engine that is in autocommit already (context.db.autocommit_engine); any other is switched per checkout."""
    with _autocommit_connection(engine) as connection:
        yield Ledger(connection)


def _autocommit_connection(engine: Engine) -> Connection:
    connection = engine.connect()
    if getattr(engine.dialect, "isolation_level", None) != "AUTOCOMMIT":  # set by create_engine(isolation_level=)
        connection = connection.execution_options(isolation_level="AUTOCOMMIT")
    return connection
