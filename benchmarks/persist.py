"""Persist: the project's way of storing a context on its run row versus one raw psycopg UPDATE of the same JSON."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable

import psycopg
from psycopg.types.json import Jsonb

from benchmarks.documents import context_document
from benchmarks.harness import services
from benchmarks.stats import Row, compare, summarize
from context.db import make_engine, session_factory
from context.models import CampaignContext
from context.registry import ReferenceTypeRegistry
from context.runs import Run, RunRepository, RunStatus
from context.service import CampaignContextService
from context.settings import REPO_CONFIG
from context.tenancy import tenant_scope

NAME = "persist"
TARGET = 1.5
SIZES = (12, 50)
BATCH = 10  # calls per sample


def run(*, quick: bool, deadline: float | None = None) -> list[Row]:
    rounds = 7 if quick else 21
    rows: list[Row] = []
    with services("persist") as svc:
        engine = make_engine(svc.pg_url)
        sessions = session_factory(engine)
        service = CampaignContextService(ReferenceTypeRegistry.from_config(REPO_CONFIG), sessions=sessions)
        tenant = uuid.uuid4()
        with psycopg.connect(svc.pg_dsn) as raw:
            for size in SIZES:
                run_id = uuid.uuid4()
                doc = context_document(size, run_id=str(run_id))
                ctx = CampaignContext.model_validate(doc)
                with sessions() as session, session.begin():
                    RunRepository(session).add(
                        Run(
                            id=run_id,
                            tenant_id=tenant,
                            campaign_id=uuid.UUID(doc["campaignId"]),
                            workflow_name="campaign",
                            status=RunStatus.RUNNING.value,
                            context=doc,
                        )
                    )

                def raw_update(doc: dict[str, object] = doc, run_id: uuid.UUID = run_id) -> None:
                    raw.execute("UPDATE app.runs SET context = %s WHERE id = %s", (Jsonb(doc), run_id))
                    raw.commit()

                def service_persist(ctx: CampaignContext = ctx) -> None:
                    with tenant_scope(tenant):
                        service.persist(ctx)

                def repository_update(doc: dict[str, object] = doc, run_id: uuid.UUID = run_id) -> None:
                    with sessions() as session, session.begin():
                        RunRepository(session).update_run(run_id, tenant_id=tenant, context=doc)

                cases: dict[str, Callable[[], None]] = {
                    "raw psycopg UPDATE + COMMIT": raw_update,
                    "CampaignContextService.persist (tenant_scope)": service_persist,
                    "RunRepository.update_run(context=dict)": repository_update,
                }
                samples = _time_interleaved(cases, rounds)
                made = {c: Row(NAME, f"{size} artifacts: {c}", "ms/call", summarize(v)) for c, v in samples.items()}
                base = made["raw psycopg UPDATE + COMMIT"]
                base.note = f"{len(json.dumps(doc))} B of JSON"
                compare(made["CampaignContextService.persist (tenant_scope)"], base, target=TARGET)
                compare(made["RunRepository.update_run(context=dict)"], base)
                made["CampaignContextService.persist (tenant_scope)"].note = "model → to_json_dict → ORM UPDATE"
                made["RunRepository.update_run(context=dict)"].note = "ORM UPDATE of the ready dict"
                rows.extend(made.values())
        engine.dispose()
    return rows


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
