"""Per-process resources of a worker (engine, registry, store, steps), opened once and reused by tasks."""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from functools import cache
from typing import Any

from celery.signals import worker_init, worker_process_init, worker_process_shutdown
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from context.db import autocommit_engine, make_engine, session_factory
from context.errors import ContextError
from context.ledger import HeldLedger
from context.migrations import check_schema_revision
from context.registry import ReferenceTypeRegistry
from context.service import CampaignContextService
from context.settings import Settings, database_url, environment
from pipeline.errors import UnknownStepError
from pipeline.executor import StepExecutor
from pipeline.graph import StepGraph
from pipeline.plugins import load_generators
from pipeline.policy import StepPolicyError, step_policies
from pipeline.service_generator import service_generators
from pipeline.steps import DEFAULT_GRAPH, default_steps
from pipeline.store import ArtifactStore
from pipeline.store_factory import open_store
from tasks import metrics  # noqa: F401  (connects the step metrics to Celery's signals in every process)
from tasks.app import settings
from tasks.tracing import flush_tracing, setup_tracing

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Resources:
    settings: Settings
    engine: Engine
    autocommit: Engine  # the same database, connections in autocommit: the per-step ledger calls
    ledger: HeldLedger  # `with res.ledger() as ledger`: a single-call rule on this thread's held connection
    sessions: sessionmaker[Session]
    registry: ReferenceTypeRegistry
    store: ArtifactStore
    graph: StepGraph
    service: CampaignContextService
    executor: StepExecutor


def build_resources(cfg: Settings) -> Resources:
    """Everything a task needs, from settings; a bad artifact-type file or generator path raises here."""
    registry = ReferenceTypeRegistry.from_config(cfg.artifact_types)
    engine = make_engine(database_url(cfg), cfg.timeouts)
    check_schema_revision(engine)
    sessions = session_factory(engine)
    store = open_store(cfg.artifact_url, cfg.artifact_root)
    step_ids = [step_id for step_id, _ in DEFAULT_GRAPH]
    overrides = load_generators(cfg.generators, step_ids)
    overrides.update(service_generators(cfg.services, step_ids, store, environment()))  # a service wins over "*"
    unknown = sorted(set(cfg.step_versions) - set(step_ids))
    if unknown:
        raise UnknownStepError(unknown, step_ids)
    policies = step_policies(
        step_ids, cfg.step_policy, max_retries=cfg.step_max_retries, retry_backoff_max_s=cfg.retry_backoff_max_s
    )
    longest = max(p.time_limit_s for p in policies.values())
    if cfg.broker_url and cfg.visibility_timeout_s < longest:
        # The broker would hand a still-running step to a second worker.
        raise StepPolicyError(
            f"CAMPAIGN_VISIBILITY_TIMEOUT_S={cfg.visibility_timeout_s} is shorter than the longest hard time limit "
            f"({longest:g} s): raise it above {longest:g}"
        )
    graph = StepGraph(default_steps(overrides, cfg.step_versions, policies))
    service = CampaignContextService(registry, sessions=sessions, max_artifacts=cfg.max_artifacts)
    executor = StepExecutor(service, store)
    autocommit = autocommit_engine(database_url(cfg), cfg.timeouts)
    return Resources(
        cfg, engine, autocommit, HeldLedger(autocommit), sessions, registry, store, graph, service, executor
    )


@cache
def resources() -> Resources:
    return build_resources(settings)


@worker_init.connect
def _load_at_startup(**_: Any) -> None:
    # Fail the worker at start, with one line, rather than every task later.
    try:
        resources()
    except ContextError as e:
        log.critical("worker cannot start: %s", e)
        sys.stderr.write(f"campaign worker cannot start: {e}\n")
        raise SystemExit(2) from e


@worker_process_init.connect  # sent in every prefork child
def _after_fork(**_: Any) -> None:
    # A forked child inherits the parent's pooled sockets; two processes on one socket interleave the protocol.
    res = resources()
    res.engine.dispose(close=False)
    res.autocommit.dispose(close=False)
    setup_tracing(environment())  # after the fork: the span exporter's thread must be this process's


@worker_process_shutdown.connect
def _before_exit(**_: Any) -> None:
    flush_tracing()
    if resources.cache_info().currsize:  # built in this process: close what its threads hold
        resources().ledger.release_all()
