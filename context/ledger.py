"""The run's ledger: who drives it (epoch), whether it makes progress (lease), and each step's result, recorded once.

Every write here is compare-and-set on the run's status and, for a driver's writes, its epoch: a second
canvas, a stale redelivery or a writer after a cancel matches no row, and the caller is told so.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, literal, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from context.runs import _RLS_KEY, LIVE_STATUSES, Run, RunRepository, RunStatus, RunStep, StepOutcome, utc_now

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


# On PostgreSQL each per-step transaction is one function call (migration 0010): one round trip, not a dozen.
_STEP_START = text("SELECT app.step_start(:run, :tenant, :step, :epoch, :queue, :hostname, :task_id, :lease_s)")
_STEP_FINISH = text(
    "SELECT app.step_finish(:run, :tenant, :step, :epoch, :outcome, :reason, CAST(:result AS jsonb), :lease_s, "
    "CAST(:deps AS jsonb))"
)

_RECORD_REUSED = text(
    "INSERT INTO app.run_steps AS s (run_id, step_id, tenant_id, outcome, reason, attempts, updated_at, epoch, "
    "result, finished_at) "
    "SELECT :run, x.step, :tenant, 'reused', x.reason, 1, now(), :epoch, CAST(:result AS jsonb), now() "
    "FROM jsonb_to_recordset(CAST(:steps AS jsonb)) AS x(step text, reason text) "
    "ON CONFLICT (run_id, step_id) DO UPDATE SET outcome = excluded.outcome, reason = excluded.reason, "
    "updated_at = excluded.updated_at, epoch = excluded.epoch, result = excluded.result, "
    "finished_at = excluded.finished_at WHERE s.result IS NULL "
    "RETURNING s.step_id"
)

_FINISH = text(
    "UPDATE app.runs SET status = :status, context = COALESCE(CAST(:context AS jsonb), context), "
    "finished_at = now(), updated_at = now(), lease_expires_at = NULL, error = :error, failed_step = :failed_step "
    "WHERE id = :run AND tenant_id = :tenant AND status = ANY(:live) "
    "AND (CAST(:epoch AS integer) IS NULL OR epoch = CAST(:epoch AS integer)) RETURNING id"
)


@dataclass(frozen=True)
class Ledger:
    """Tenant-scoped reads and compare-and-set writes for the run driver; the caller owns the transaction."""

    session: Session

    @property
    def _repo(self) -> RunRepository:
        return RunRepository(self.session)

    @property
    def _on_postgresql(self) -> bool:
        return self.session.get_bind().dialect.name == "postgresql"

    def _insert(self) -> Any:
        return postgresql.insert if self.session.get_bind().dialect.name == "postgresql" else sqlite.insert

    def view(
        self, run_id: uuid.UUID, tenant_id: uuid.UUID, *, lock: bool = False, documents: bool = True
    ) -> RunView | None:
        """The run's state; without `documents`, no context and no result JSON (which steps are recorded only)."""
        self._repo._scope(tenant_id)
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

    def _start_step_by_statements(
        self,
        run_id: uuid.UUID,
        tenant_id: uuid.UUID,
        step_id: str,
        epoch: int,
        queue: str | None,
        hostname: str | None,
        task_id: str | None,
        lease: timedelta,
    ) -> StepStart:
        view = self.view(run_id, tenant_id, lock=True) or RunView("missing", -1, None)
        stale = _stale(view, epoch)
        if stale or step_id in view.recorded:
            return StepStart(view, stale=stale)
        now = utc_now()
        values = {
            "run_id": run_id,
            "step_id": step_id,
            "tenant_id": tenant_id,
            "outcome": StepOutcome.RUNNING.value,
            "reason": None,
            "attempts": 1,
            "updated_at": now,
            "epoch": epoch,
            "queue": queue,
            "hostname": hostname,
            "task_id": task_id,
            "started_at": now,
            "finished_at": None,
        }
        insert = self._insert()(RunStep).values(**values)
        stmt = insert.on_conflict_do_update(
            index_elements=[RunStep.run_id, RunStep.step_id],
            set_={k: insert.excluded[k] for k in values if k not in ("run_id", "step_id", "tenant_id", "attempts")}
            | {"attempts": RunStep.attempts + 1},
        ).returning(RunStep.attempts)
        attempts = int(self.session.execute(stmt).scalar_one())
        self._extend_lease(run_id, tenant_id, now + lease, status=RunStatus.RUNNING)
        return StepStart(view, attempts)

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
        """Check this delivery may act; if the step has no recorded result, count an attempt, note where it runs and
        extend the lease. One round trip on PostgreSQL (app.step_start), statement by statement elsewhere."""
        if not self._on_postgresql:
            return self._start_step_by_statements(run_id, tenant_id, step_id, epoch, queue, hostname, task_id, lease)
        params = {"run": run_id, "tenant": tenant_id, "step": step_id, "epoch": epoch, "queue": queue,
                  "hostname": hostname, "task_id": task_id, "lease_s": lease.total_seconds()}  # fmt: skip
        got = self.session.execute(_STEP_START, params).scalar_one()
        self.session.info[_RLS_KEY] = tenant_id  # the function named the tenant for this transaction
        results = got.get("results") or {}
        view = RunView(got["status"], got["epoch"], got.get("context"), results, frozenset(got.get("forced") or ()),
                       got.get("sweeps", 0), frozenset(results))  # fmt: skip
        stale = _stale(view, epoch)
        return StepStart(view, stale=stale) if stale else StepStart(view, int(got.get("attempts", 0)))

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
        if not self._on_postgresql:
            return self._end_step_by_statements(run_id, tenant_id, step_id, epoch, deps, lease, outcome, reason, result)
        params = {"run": run_id, "tenant": tenant_id, "step": step_id, "epoch": epoch,
                  "outcome": outcome.value if outcome else None, "reason": reason,
                  "result": None if result is None else json.dumps(result), "lease_s": lease.total_seconds(),
                  "deps": json.dumps(deps)}  # fmt: skip
        got = self.session.execute(_STEP_FINISH, params).scalar_one()
        self.session.info[_RLS_KEY] = tenant_id
        order = list(deps)
        claimed = tuple(sorted(got["claimed"], key=order.index))
        live, recorded, complete = bool(got["live"]), bool(got["recorded"]), bool(got["complete"])
        return StepEnd(live, recorded, claimed, complete, update=bool(got.get("update")))

    def _end_step_by_statements(
        self,
        run_id: uuid.UUID,
        tenant_id: uuid.UUID,
        step_id: str | None,
        epoch: int,
        deps: Mapping[str, Sequence[str]],
        lease: timedelta,
        outcome: StepOutcome | None,
        reason: str | None,
        result: dict[str, Any] | None,
    ) -> StepEnd:
        recorded = False
        if step_id is not None and result is not None and outcome is not None:
            recorded = self.record(run_id, tenant_id, step_id, epoch, outcome, reason or "", result, lease=lease)
        view = self.view(run_id, tenant_id, lock=True, documents=False)
        if view is None or not view.live:
            return StepEnd(live=False, recorded=recorded)
        if view.epoch != epoch:
            return StepEnd(live=True, recorded=recorded)
        done = view.recorded
        if done >= set(deps):
            return StepEnd(live=True, recorded=recorded, complete=True)
        ready = [s for s, producers in deps.items() if s not in done and set(producers) <= done]
        claimed = self.claim(run_id, tenant_id, ready, epoch)
        if claimed:
            self.touch(run_id, tenant_id, lease)
        base = self.session.scalar(select(Run.base_run_id).where(Run.id == run_id, Run.tenant_id == tenant_id))
        return StepEnd(live=True, recorded=recorded, claimed=tuple(claimed), update=base is not None)

    def touch(self, run_id: uuid.UUID, tenant_id: uuid.UUID, lease: timedelta) -> None:
        """The run's driver is alive (it just sent steps): keep the sweeper away for `lease`."""
        self._repo._scope(tenant_id)
        self._extend_lease(run_id, tenant_id, utc_now() + lease, status=None)

    def _extend_lease(
        self,
        run_id: uuid.UUID,
        tenant_id: uuid.UUID,
        until: datetime,
        *,
        status: RunStatus | None,
        progress: bool = False,
    ) -> None:
        values: dict[str, Any] = {
            "lease_expires_at": case((Run.lease_expires_at > until, Run.lease_expires_at), else_=until),
            "updated_at": utc_now(),
        }
        if status is not None:
            values["status"] = status.value
        if progress:
            values["sweeps"] = 0
        self.session.execute(
            update(Run)
            .where(Run.id == run_id, Run.tenant_id == tenant_id, Run.status.in_(_LIVE))
            .values(**values)
            .execution_options(synchronize_session=False)
        )

    def record(
        self,
        run_id: uuid.UUID,
        tenant_id: uuid.UUID,
        step_id: str,
        epoch: int,
        outcome: StepOutcome,
        reason: str,
        result: dict[str, Any],
        *,
        lease: timedelta,
    ) -> bool:
        """Record the step's result once; False when it was already recorded or the run is not live."""
        view = self.view(run_id, tenant_id, lock=True, documents=False)
        if view is None or not view.live or step_id in view.recorded:
            return False
        now = utc_now()
        values = {
            "run_id": run_id,
            "step_id": step_id,
            "tenant_id": tenant_id,
            "outcome": outcome.value,
            "reason": reason,
            "attempts": 1,
            "updated_at": now,
            "epoch": epoch,
            "result": result,
            "finished_at": now,
        }
        insert = self._insert()(RunStep).values(**values)
        stmt = insert.on_conflict_do_update(
            index_elements=[RunStep.run_id, RunStep.step_id],
            set_={k: insert.excluded[k] for k in ("outcome", "reason", "updated_at", "epoch", "result", "finished_at")},
            where=RunStep.result.is_(None),  # first writer wins
        ).returning(RunStep.step_id)
        recorded = self.session.execute(stmt).first() is not None
        if recorded:
            self._extend_lease(run_id, tenant_id, now + lease, status=RunStatus.RUNNING, progress=True)
        return recorded

    def record_reused(
        self,
        run_id: uuid.UUID,
        tenant_id: uuid.UUID,
        epoch: int,
        steps: Sequence[tuple[str, str]],
        *,
        result: dict[str, Any],
        lease: timedelta,
    ) -> list[str]:
        """Record `steps` ((step, reason) each) as reused with the same `result` (the delta of a reused step, which
        changes nothing), in one statement; returns the ones recorded by this call."""
        if not steps:
            return []
        self._repo._scope(tenant_id)
        now = utc_now()
        if self._on_postgresql:  # one prepared statement, however many steps
            params = {"run": run_id, "tenant": tenant_id, "epoch": epoch, "result": json.dumps(result),
                      "steps": json.dumps([{"step": s, "reason": r} for s, r in steps])}  # fmt: skip
            recorded = list(self.session.execute(_RECORD_REUSED, params).scalars())
            if recorded:
                self._extend_lease(run_id, tenant_id, now + lease, status=RunStatus.RUNNING, progress=True)
            return recorded
        rows = [{"run_id": run_id, "step_id": step_id, "tenant_id": tenant_id, "outcome": StepOutcome.REUSED.value,
                 "reason": reason, "attempts": 1, "updated_at": now, "epoch": epoch, "result": result,
                 "finished_at": now} for step_id, reason in steps]  # fmt: skip
        insert = self._insert()(RunStep).values(rows)
        stmt = insert.on_conflict_do_update(
            index_elements=[RunStep.run_id, RunStep.step_id],
            set_={k: insert.excluded[k] for k in ("outcome", "reason", "updated_at", "epoch", "result", "finished_at")},
            where=RunStep.result.is_(None),  # first writer wins
        ).returning(RunStep.step_id)
        recorded = [r.step_id for r in self.session.execute(stmt)]
        if recorded:
            self._extend_lease(run_id, tenant_id, now + lease, status=RunStatus.RUNNING, progress=True)
        return recorded

    def claim(self, run_id: uuid.UUID, tenant_id: uuid.UUID, step_ids: list[str], epoch: int) -> list[str]:
        """The steps of `step_ids` this epoch may send: each is claimed once per epoch, never once recorded."""
        claimed = []
        now = utc_now()
        for step_id in step_ids:
            values = {
                "run_id": run_id,
                "step_id": step_id,
                "tenant_id": tenant_id,
                "outcome": StepOutcome.QUEUED.value,
                "reason": None,
                "attempts": 0,
                "updated_at": now,
                "dispatched_epoch": epoch,
            }
            insert = self._insert()(RunStep).values(**values)
            stmt = insert.on_conflict_do_update(
                index_elements=[RunStep.run_id, RunStep.step_id],
                set_={"dispatched_epoch": epoch, "updated_at": now},
                where=(RunStep.result.is_(None))
                & ((RunStep.dispatched_epoch.is_(None)) | (RunStep.dispatched_epoch != epoch)),
            ).returning(RunStep.step_id)
            if self.session.execute(stmt).first() is not None:
                claimed.append(step_id)
        return claimed

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
    ) -> bool:
        """End a live run (completed, failed, cancelled); with `epoch`, only as that epoch's driver."""
        live = [*_LIVE, RunStatus.QUEUED.value] if status is RunStatus.CANCELLED else _LIVE  # a queued run too
        self._repo._scope(tenant_id)
        if self._on_postgresql:  # the run's largest write: a plain statement, no ORM compile of a big document
            params = {"run": run_id, "tenant": tenant_id, "status": status.value, "live": live, "epoch": epoch,
                      "context": None if context is None else json.dumps(context), "error": error,
                      "failed_step": failed_step}  # fmt: skip
            return self.session.execute(_FINISH, params).first() is not None
        stmt = update(Run).where(Run.id == run_id, Run.tenant_id == tenant_id, Run.status.in_(live))
        if epoch is not None:
            stmt = stmt.where(Run.epoch == epoch)
        values: dict[str, Any] = {
            "status": status.value,
            "finished_at": utc_now(),
            "updated_at": utc_now(),
            "lease_expires_at": None,
            "error": error,
            "failed_step": failed_step,
        }
        if context is not None:
            values["context"] = context
        result = self.session.execute(stmt.values(**values).execution_options(synchronize_session=False))
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def fail_step(self, run_id: uuid.UUID, tenant_id: uuid.UUID, step_id: str, reason: str) -> None:
        self._repo.record_step(run_id, step_id, StepOutcome.FAILED, reason, tenant_id=tenant_id)
        self.session.execute(
            update(RunStep)
            .where(RunStep.run_id == run_id, RunStep.step_id == step_id, RunStep.tenant_id == tenant_id)
            .values(finished_at=utc_now())
            .execution_options(synchronize_session=False)
        )

    def new_epoch(
        self,
        run_id: uuid.UUID,
        tenant_id: uuid.UUID,
        *,
        from_statuses: tuple[RunStatus, ...],
        lease: timedelta,
        expected_epoch: int | None = None,
        sweep: bool = False,
    ) -> int | None:
        """Take over the run as a new driver (launch, resume, sweep); None when it is not in `from_statuses`."""
        self._repo._scope(tenant_id)
        stmt = update(Run).where(
            Run.id == run_id, Run.tenant_id == tenant_id, Run.status.in_([s.value for s in from_statuses])
        )
        if expected_epoch is not None:
            stmt = stmt.where(Run.epoch == expected_epoch)
        if sweep:  # progress since the sweeper looked renews the lease: then the run is left alone
            stmt = stmt.where(Run.lease_expires_at < utc_now())
        values: dict[str, Any] = {
            "epoch": Run.epoch + 1,
            "status": RunStatus.PENDING.value,
            "error": None,
            "failed_step": None,
            "finished_at": None,
            "updated_at": utc_now(),
            "lease_expires_at": utc_now() + lease,
        }
        values["sweeps"] = Run.sweeps + 1 if sweep else literal(0)
        row = self.session.execute(stmt.values(**values).returning(Run.epoch)).first()
        return None if row is None else int(row[0])

    def lock_tenant(self, tenant_id: uuid.UUID) -> None:
        """Serialise admission decisions of one tenant (fair share) across workers, for this transaction."""
        if self.session.get_bind().dialect.name == "postgresql":
            self.session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(str(tenant_id), 0))))

    def admit(self, tenant_id: uuid.UUID, cap: int, lease: timedelta) -> list[tuple[uuid.UUID, int]]:
        """Move the tenant's oldest queued runs to pending while it runs fewer than `cap`; (run, epoch) each."""
        if self._on_postgresql:  # one round trip (migration 0010)
            rows = self.session.execute(
                text("SELECT run_id, epoch FROM app.admit_runs(:tenant, :cap, :lease_s)"),
                {"tenant": tenant_id, "cap": cap, "lease_s": lease.total_seconds()},
            ).all()
            self.session.info[_RLS_KEY] = tenant_id
            return [(r.run_id, int(r.epoch)) for r in rows]  # oldest first
        self.lock_tenant(tenant_id)
        self._repo._scope(tenant_id)
        live = self.session.scalar(
            select(func.count()).select_from(Run).where(Run.tenant_id == tenant_id, Run.status.in_(_LIVE))
        )
        free = cap - int(live or 0)
        if free <= 0:
            return []
        queued = self.session.scalars(
            select(Run.id)
            .where(Run.tenant_id == tenant_id, Run.status == RunStatus.QUEUED.value)
            .order_by(Run.created_at, Run.id)
            .limit(free)
        ).all()
        admitted = []
        for run_id in queued:
            epoch = self.new_epoch(run_id, tenant_id, from_statuses=(RunStatus.QUEUED,), lease=lease)
            if epoch is not None:
                admitted.append((run_id, epoch))
        return admitted

    def sweep_candidates(self) -> list[tuple[uuid.UUID | None, uuid.UUID, str]]:
        """(run, tenant, 'expired') for live runs whose lease ran out; (None, tenant, 'queued') per waiting tenant."""
        if self.session.get_bind().dialect.name == "postgresql":
            rows = self.session.execute(text("SELECT run_id, tenant_id, kind FROM app.sweep_candidates()"))
            return [(r.run_id, r.tenant_id, r.kind) for r in rows]
        now = utc_now()
        expired = self.session.execute(
            select(Run.id, Run.tenant_id).where(Run.status.in_(_LIVE), Run.lease_expires_at < now)
        )
        queued = self.session.execute(select(Run.tenant_id).where(Run.status == RunStatus.QUEUED.value).distinct())
        return [(r.id, r.tenant_id, "expired") for r in expired] + [(None, r.tenant_id, "queued") for r in queued]
