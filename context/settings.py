"""Settings from CAMPAIGN_* environment variables: the only place the environment is read."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict

from context.assets import config_dir
from context.db import Timeouts, unsupported_database

# The shipped config: config/ in a checkout, the campaign_config package data in an installed wheel.
REPO_CONFIG = config_dir() / "artifact-types.json"
DATABASE_SCHEMES = ("postgresql", "postgresql+psycopg", "postgres")
BROKER_SCHEMES = ("redis", "rediss", "memory")  # memory: Celery's in-process broker, as the embedded mode uses
# The tenant that embedded-mode commands act as when none is given.
LOCAL_TENANT = uuid.UUID("00000000-0000-4000-8000-000000000001")


class SecretFileError(ValueError):
    """A CAMPAIGN_*_FILE variable names a file that cannot be read."""


class FileSettingsSource(EnvSettingsSource):
    """`CAMPAIGN_<NAME>_FILE=/run/secrets/x`: the setting's value is that file's text (Docker secrets), not the env.

    Below the plain variables: a value given directly wins. A named file that cannot be read is an error naming it.
    """

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        env_name = f"{self.env_prefix}{field_name}_file"
        path = self.env_vars.get(env_name.lower() if not self.case_sensitive else env_name)
        if not path:
            return None, field_name, False
        try:
            text = Path(path).read_text(encoding="utf-8").strip()
        except OSError as e:
            raise SecretFileError(f"{env_name.upper()}: cannot read {path}: {e.strerror}") from None
        return text, field_name, self.field_is_complex(field)


class SecretFileSettings(BaseSettings):
    """Settings that each may come from the file CAMPAIGN_<NAME>_FILE names (FileSettingsSource)."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, env_settings, FileSettingsSource(settings_cls), dotenv_settings, file_secret_settings


class Settings(SecretFileSettings):
    model_config = SettingsConfigDict(env_prefix="CAMPAIGN_", env_file=".env", extra="ignore")

    # None: the embedded PostgreSQL under data_dir, started on demand (context.embedded).
    database_url: str | None = None
    data_dir: Path = Path("var")
    embedded_keep_running: bool = False  # leave the embedded server up after the last `campaign` process exits
    # Every database connection is bounded (context.db.Timeouts): a silent database is an outage, not a hang.
    db_connect_timeout_s: float = Field(default=5, gt=0)
    db_statement_timeout_s: float = Field(default=30, gt=0)
    broker_url: str | None = None  # None: the embedded, in-process mode
    result_backend: str | None = None  # None: same as the broker
    artifact_root: Path = Path("var/artifacts")
    # s3://bucket/prefix: artifacts in an S3-compatible service (AWS_* variables configure the client).
    artifact_url: str | None = None
    artifact_types: Path = REPO_CONFIG
    tenant: uuid.UUID = LOCAL_TENANT
    max_artifacts: int = Field(default=50, ge=1)
    # Above the longest step: a Redis message not acked within this is delivered again.
    visibility_timeout_s: int = Field(default=3600, ge=1)
    # How often a worker sweeps for messages whose worker died (older than the visibility timeout).
    unacked_restore_interval_s: int = Field(default=10, ge=1)
    result_expires_s: int = Field(default=3600, ge=60)
    step_max_retries: int = Field(default=3, ge=0)
    retry_backoff_max_s: int = Field(default=60, ge=1)
    # A step started this many times beyond its retries is killing its worker: fail the run, stop the loop.
    max_redeliveries: int = Field(default=3, ge=0)
    db_outage_retries: int = Field(default=40, ge=0)
    # Start, resume, cancel, sweep and the step error callback: bounded like steps, so nothing holds a slot for ever.
    control_task_time_limit_s: float = Field(default=120, gt=0)
    # Celery task events from the start (Flower turns them on by itself where it runs, so they cost nothing elsewhere).
    task_events: bool = False
    # A live run's lease: how long it may go without progress (beyond a running step's hard limit) before the
    # sweeper resumes it; after max_sweeps resumes without progress it fails with the reason.
    run_lease_s: int = Field(default=600, ge=1)
    sweep_interval_s: float = Field(default=30, gt=0)
    max_sweeps: int = Field(default=3, ge=1)
    # Fair share: runs of one tenant executing at once; more wait as `queued`, oldest first.
    tenant_max_running: int = Field(default=10, ge=1)
    step_policy: dict[str, dict[str, Any]] = Field(default_factory=dict)  # step id -> StepPolicy fields
    # Run events as Celery task messages for non-Python consumers (a celery-node worker): unset, none are sent,
    # so no queue fills up that nobody reads.
    events_queue: str | None = Field(default=None, min_length=1, max_length=200)
    events_task: str = Field(default="campaign.run_event", min_length=1, max_length=200)
    generators: dict[str, str] = Field(default_factory=dict)  # step id -> "module:callable"
    # step id -> version; bump one when its generator's output changes, and updates re-run that step.
    step_versions: dict[str, str] = Field(default_factory=dict)
    # step id -> HTTP generation service (pipeline.service_generator.ServiceConfig as JSON)
    services: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @field_validator("database_url")
    @classmethod
    def _use_psycopg3(cls, v: str | None) -> str | None:
        if not v:
            return None  # `CAMPAIGN_DATABASE_URL=` means the embedded default
        scheme = v.partition("://")[0] if "://" in v else ""
        if scheme not in DATABASE_SCHEMES:
            raise ValueError(unsupported_database(scheme or v))
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
    def timeouts(self) -> Timeouts:
        statement = self.db_statement_timeout_s
        return Timeouts(connect_s=self.db_connect_timeout_s, statement_s=statement, wait_s=statement + 10)

    @property
    def where(self) -> str:
        """The database as it may be printed: no credentials."""
        return self.database_url.split("@")[-1] if self.database_url else f"embedded PostgreSQL in {self.data_dir}"

    @property
    def backend_url(self) -> str | None:
        return self.result_backend or self.broker_url


def database_url(cfg: Settings | None = None) -> str:
    """The configured database, or the embedded one (started and migrated on first use, shared between processes)."""
    cfg = cfg or get_settings()
    if cfg.database_url:
        return cfg.database_url
    from context.embedded import embedded_url

    return embedded_url(cfg.data_dir, keep_running=cfg.embedded_keep_running)


@cache
def get_settings() -> Settings:
    """The one Settings object of this process: the environment is read once, every caller sees the same values."""
    return Settings()


def environment() -> Mapping[str, str]:
    """Where secrets named by configuration (a service's `auth_env`) are looked up: the environment only."""
    return os.environ
