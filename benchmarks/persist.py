"""Persist: how the production task stores a run's final context, versus the least raw psycopg can do for it.

Like for like: both complete a live run of the same tenant with the same document, as a login role in
campaign_app (row-level security on, never a superuser), in one transaction that names the tenant and updates
the row with the same compare-and-set conditions (live status, driver epoch). The project's side is
`context.ledger.Ledger.finish` on the worker's autocommit engine, the call tasks.driver makes when a run's last
step is recorded: one statement that names its tenant itself (its own transaction).
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import Callable, Iterator

import psycopg
from psycopg.types.json import Jsonb
from sqlalchemy.engine import make_url

from benchmarks.documents import context_document
from benchmarks.harness import services
from benchmarks.stats import Row, compare, summarize
from context.db import autocommit_engine
from context.ledger import HeldLedger
from context.runs import RunStatus
from tests.services import PG_ADMIN_DSN

NAME = "persist"
TARGET = 1.5
SIZES = (12, 50)
BATCH = 10  # calls per sample
ROLE = "campaign_bench_rls"
RAW_FINISH = (
    "UPDATE app.runs SET status = 'completed', context = %s, finished_at = now(), updated_at = now(), "
    "lease_expires_at = NULL, error = NULL, failed_step = NULL "
    "WHERE id = %s AND tenant_id = %s AND status IN ('pending', 'running') AND epoch = %s"
)


def run(*, quick: bool, deadline: float | None = None) -> list[Row]:
    rounds = 7 if quick else 21
    rows: list[Row] = []
    with services("persist") as svc, svc.connect() as admin:
        _ensure_role()
        app_url = make_url(svc.pg_url).set(username=ROLE, password=None).render_as_string(hide_password=False)
        engine = autocommit_engine(app_url)
        held = HeldLedger(engine)  # as a worker holds it: one connection for its thread, kept between calls
        tenant = uuid.uuid4()
        app_dsn = app_url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(app_dsn) as raw:
            for size in SIZES:
                doc = context_document(size, run_id=str(uuid.uuid4()))
                live = _live_runs(admin, tenant, doc, 2 * (rounds * BATCH + 3))

                def raw_finish(doc: dict[str, object] = doc, live: Iterator[uuid.UUID] = live) -> None:
                    with raw.transaction():
                        raw.execute("SELECT set_config('app.tenant_id', %s, true)", (str(tenant),))
                        raw.execute(RAW_FINISH, (Jsonb(doc), next(live), tenant, 1))

                def ledger_finish(doc: dict[str, object] = doc, live: Iterator[uuid.UUID] = live) -> None:
                    with held() as ledger:
                        ledger.finish(next(live), tenant, status=RunStatus.COMPLETED, epoch=1, context=doc)

                cases: dict[str, Callable[[], None]] = {
                    "raw psycopg: set_config + compare-and-set UPDATE": raw_finish,
                    "Ledger.finish (the production path)": ledger_finish,
                }
                samples = _time_interleaved(cases, rounds)
                made = {c: Row(NAME, f"{size} artifacts: {c}", "ms/call", summarize(v)) for c, v in samples.items()}
                base = made["raw psycopg: set_config + compare-and-set UPDATE"]
                base.note = f"{len(json.dumps(doc))} B of JSON; RLS-bound role; one transaction each"
                project = compare(made["Ledger.finish (the production path)"], base, target=TARGET)
                project.note = "one statement in autocommit naming its tenant (app.end_run), as tasks.driver ends a run"
                rows.extend(made.values())
        held.release_all()
        engine.dispose()
    return rows


def _ensure_role() -> None:
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (ROLE,)).fetchone():
            with contextlib.suppress(psycopg.errors.UniqueViolation, psycopg.errors.DuplicateObject):
                conn.execute(f"CREATE ROLE {ROLE} LOGIN NOSUPERUSER NOBYPASSRLS IN ROLE campaign_app")


def _live_runs(
    admin: psycopg.Connection[object], tenant: uuid.UUID, doc: dict[str, object], n: int
) -> Iterator[uuid.UUID]:
    """`n` running runs (epoch 1), made before the timing starts: each finish completes a fresh one."""
    ids = [uuid.uuid4() for _ in range(n)]
    with admin.cursor() as cur:
        cur.executemany(
            "INSERT INTO app.runs (id, tenant_id, campaign_id, workflow_name, status, context, epoch, "
            "created_at, updated_at) VALUES (%s, %s, %s, 'campaign', 'running', %s, 1, now(), now())",
            [(i, tenant, uuid.uuid4(), Jsonb(doc)) for i in ids],
        )
    return iter(ids)


def _time_interleaved(cases: dict[str, Callable[[], None]], rounds: int) -> dict[str, list[float]]:
    for fn in cases.values():
        for _ in range(3):
            fn()  # connections opened, statements compiled and cached
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(rounds):
        for name, fn in cases.items():
            t0 = time.perf_counter_ns()
            for _ in range(BATCH):
                fn()
            samples[name].append((time.perf_counter_ns() - t0) / BATCH / 1e6)
    return samples
