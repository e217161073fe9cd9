"""Step policy: where a step runs, how long it may take, how it retries, which formats its artifact may have.

Defaults live here, one place; an operator overrides any field per step without code through
CAMPAIGN_STEP_POLICY (JSON: step id -> fields), checked when the worker starts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from pipeline.errors import PipelineError, UnknownStepError
from pipeline.quality import EXPECTED_FORMAT

DEFAULT_QUEUE = "campaign"
MEDIA_QUEUE = "media"
VIDEO_STEPS = frozenset({"intro_video", "outcome_win_video", "outcome_lose_video"})
VIDEO_FORMATS = ("gif", "mp4", "webm")
# Message priority of a run's start (Redis: 0 is served first, 9 last). A tenant with no start waiting sends at 0,
# what any bare Celery client sends, so on a worker that also runs steps a new tenant's start goes first and is
# never starved; a burst's later starts go back a level at a time (start_priority, tasks.intake). The
# recommended layout gives starts (queue `celery`) a worker of their own, so they never compete with steps at
# all. Finishing started runs first comes from the fair-share cap (runs past it wait in PostgreSQL, not in the
# broker) and from step priorities (tasks.driver.step_priority).
START_PRIORITY = 0
# The levels a start is sent at: kombu's default priority steps on Redis, so a Python sender with the transport's
# defaults puts each in a list of its own (a level in between would share one with the level below it).
START_LEVELS = (START_PRIORITY, 3, 6, 9)
# A tenant's starts still waiting in the broker, per level: another tenant's single start waits behind at most
# this many of a burst's (see start_priority).
INTAKE_BURST = 4


def start_priority(waiting: int) -> int:
    """The priority of a tenant's start sent while `waiting` of its starts wait to be taken in.

    Starts wait first come, first served on the intake queue, so one tenant's burst of 500 would hold back
    every other tenant's start for as long as it takes to take in 500 messages. Counting each tenant's
    waiting starts and sending the n-th one level back every INTAKE_BURST makes a burst queue behind itself:
    another tenant's start (nothing waiting, priority 0) overtakes all but INTAKE_BURST of it.
    """
    if waiting < 0:
        raise ValueError(f"waiting must be >= 0, got {waiting}")
    return START_LEVELS[min(len(START_LEVELS) - 1, waiting // INTAKE_BURST)]


class StepPolicy(BaseModel):
    """How one step is run; each field maps onto a Celery task option (queue, time limits, retries)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    queue: str = Field(default=DEFAULT_QUEUE, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    soft_time_limit_s: float = Field(default=600, gt=0)  # the step gets SoftTimeLimitExceeded, fails or retries
    time_limit_s: float = Field(default=660, gt=0)  # the worker process is replaced, the slot freed
    max_retries: int = Field(default=3, ge=0, le=100)
    retry_backoff_max_s: float = Field(default=60, gt=0)
    retry_on_timeout: bool = False  # past the soft limit: retry (True) or fail the run (False)
    formats: tuple[str, ...] | None = None  # None: the artifact type's default format

    @model_validator(mode="after")
    def _limits_ordered(self) -> StepPolicy:
        if self.time_limit_s <= self.soft_time_limit_s:
            raise ValueError(
                f"time_limit_s ({self.time_limit_s:g}) must be above soft_time_limit_s ({self.soft_time_limit_s:g})"
            )
        return self


class StepPolicyError(PipelineError):
    """Raised when CAMPAIGN_STEP_POLICY names an unknown step or field, or a value out of range."""


def default_policy(step_id: str, *, max_retries: int = 3, retry_backoff_max_s: float = 60) -> StepPolicy:
    base: dict[str, Any] = {"max_retries": max_retries, "retry_backoff_max_s": retry_backoff_max_s}
    if step_id in VIDEO_STEPS:
        # Video services take minutes; they run on GPU/media workers.
        base |= {"queue": MEDIA_QUEUE, "soft_time_limit_s": 1800, "time_limit_s": 1860, "formats": VIDEO_FORMATS}
    elif step_id in EXPECTED_FORMAT:
        base["formats"] = (EXPECTED_FORMAT[step_id],)
    return StepPolicy(**base)


def step_policies(
    step_ids: Sequence[str],
    overrides: Mapping[str, Mapping[str, Any]],
    *,
    max_retries: int = 3,
    retry_backoff_max_s: float = 60,
) -> dict[str, StepPolicy]:
    """Each step's policy: the default with `overrides` applied; StepPolicyError names the first problem."""
    unknown = sorted(set(overrides) - set(step_ids))
    if unknown:
        raise StepPolicyError(f"CAMPAIGN_STEP_POLICY: {UnknownStepError(unknown, list(step_ids))}")
    policies = {}
    for step_id in step_ids:
        base = default_policy(step_id, max_retries=max_retries, retry_backoff_max_s=retry_backoff_max_s)
        fields = dict(overrides.get(step_id, {}))
        try:
            policies[step_id] = StepPolicy.model_validate(base.model_dump() | fields)
        except ValidationError as e:
            first = e.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            where = f".{where}" if where else ""
            raise StepPolicyError(f"CAMPAIGN_STEP_POLICY: {step_id}{where}: {first['msg']}") from None
    return policies
