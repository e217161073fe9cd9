"""Settings from CAMPAIGN_* environment variables: the only place the environment is read."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from context.assets import config_dir

# The shipped config: config/ in a checkout, the campaign_config package data in an installed wheel.
REPO_CONFIG = config_dir() / "artifact-types.json"
DATABASE_SCHEMES = ("postgresql", "postgresql+psycopg", "postgres", "sqlite")
BROKER_SCHEMES = ("redis", "rediss", "memory")  # memory: Celery's in-process broker, as the embedded mode uses
# The tenant that embedded-mode commands act as when none is given.
LOCAL_TENANT = uuid.UUID("00000000-0000-4000-8000-000000000001")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CAMPAIGN_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///var/campaign.db"
    broker_url: str | None = None  # None: the embedded, in-process mode
    result_backend: str | None = None  # None: same as the broker
    artifact_root: Path = Path("var/artifacts")
    artifact_types: Path = REPO_CONFIG
    tenant: uuid.UUID = LOCAL_TENANT
    max_artifacts: int = Field(default=50, ge=1)
    # Above the longest step: a Redis message not acked within this is delivered again.
    visibility_timeout_s: int = Field(default=3600, ge=1)
    # How often a worker sweeps for messages whose worker died (older than the visibility timeout).
    unacked_restore_interval_s: int = Field(default=10, ge=1)
    result_expires_s: int = Field(default=86400, ge=60)
    step_max_retries: int = Field(default=3, ge=0)
    retry_backoff_max_s: int = Field(default=60, ge=1)
    # A step started this many times beyond its retries is killing its worker: fail the run, stop the loop.
    max_redeliveries: int = Field(default=3, ge=0)
    db_outage_retries: int = Field(default=40, ge=0)
    # Run events as Celery task messages for non-Python consumers (a celery-node worker): unset, none are sent,
    # so no queue fills up that nobody reads.
    events_queue: str | None = Field(default=None, min_length=1, max_length=200)
    events_task: str = Field(default="campaign.run_event", min_length=1, max_length=200)
    generators: dict[str, str] = Field(default_factory=dict)  # step id -> "module:callable"
    # step id -> version; bump one when its generator's output changes, and updates re-run that step.
    step_versions: dict[str, str] = Field(default_factory=dict)

    @field_validator("database_url")
    @classmethod
    def _use_psycopg3(cls, v: str) -> str:
        scheme = v.partition("://")[0] if "://" in v else ""
        if scheme not in DATABASE_SCHEMES:
            raise ValueError(
                f"{scheme or v!r} is not a supported database: use postgresql://user@host:5432/db or sqlite:///path.db"
            )
        try:
            urlsplit(v).port  # noqa: B018  (parsing the port is the check)
        except ValueError as e:
            raise ValueError(f"not a valid URL ({e}): use postgresql://user@host:5432/db") from None
        # SQLAlchemy reads postgresql:// as psycopg2 and rejects postgres:// outright.
        return re.sub(r"^postgres(ql)?://", "postgresql+psycopg://", v)

    @field_validator("events_queue", mode="before")
    @classmethod
    def _unset_when_empty(cls, v: object) -> object:
        return None if v == "" else v  # `CAMPAIGN_EVENTS_QUEUE=` in .env means "no events", not an error

    @field_validator("broker_url")
    @classmethod
    def _redis_broker(cls, v: str | None) -> str | None:
        if v and v.partition("://")[0] not in BROKER_SCHEMES:
            raise ValueError(
                f"the broker must be Redis: redis://host:6379/0 or rediss://... (got {v.split('@')[-1]!r})"
            )
        return v or None

    @property
    def embedded(self) -> bool:
        return not self.broker_url

    @property
    def backend_url(self) -> str | None:
        return self.result_backend or self.broker_url
