"""Settings of the HTTP API, from CAMPAIGN_* environment variables (the run settings stay in context.settings)."""

from __future__ import annotations

import uuid
from functools import cache

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from context.api_keys import HASH_PREFIX, key_digest
from context.settings import SecretFileSettings

__all__ = ["HASH_PREFIX", "ApiSettings", "get_api_settings", "key_digest"]


def _digests(keys: list[str]) -> list[str]:
    return [k if k.startswith(HASH_PREFIX) else key_digest(k) for k in keys]


class ApiSettings(SecretFileSettings):  # CAMPAIGN_API_KEYS_FILE etc.: keys from secret files, as compose mounts them
    model_config = SettingsConfigDict(env_prefix="CAMPAIGN_", env_file=".env", extra="ignore")

    # {key: tenant uuid}; a key may be given as `sha256:<hex>` so the environment need not hold it in clear.
    api_keys: dict[str, uuid.UUID] = Field(default_factory=dict)
    # Keys that may read /metrics: counts across every tenant, so an operator's, not a tenant's.
    metrics_keys: list[str] = Field(default_factory=list)
    max_body_bytes: int = Field(default=256 * 1024, ge=1024)  # above the 64 KiB payload cap, JSON whitespace too
    max_body_depth: int = Field(default=32, ge=2)  # objects and arrays nested in a body, checked before parsing

    @field_validator("api_keys")
    @classmethod
    def _hash_api_keys(cls, keys: dict[str, uuid.UUID]) -> dict[str, uuid.UUID]:
        digests = _digests(list(keys))
        return dict(zip(digests, keys.values(), strict=True))

    @field_validator("metrics_keys")
    @classmethod
    def _hash_metrics_keys(cls, keys: list[str]) -> list[str]:
        return _digests(keys)


@cache
def get_api_settings() -> ApiSettings:
    return ApiSettings()
