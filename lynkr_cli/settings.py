"""lynkr's configuration, read once into typed models (pydantic-settings).

Precedence, lowest first: defaults < environment (``LYNKR_*``). The config-file layers
(``~/.config/lynkr/config.toml``, ``./lynkr.toml``) and profiles plug in here too.
Imported only off the start-up path (pydantic-settings takes ~0.25 s to import).
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from lynkr_cli.proxy.context import DEFAULT_MAX_BODY_BYTES


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LYNKR_", extra="ignore")

    anthropic_base_url: str | None = Field(default=None, description="Upstream for Anthropic requests")
    max_body_bytes: int = Field(default=DEFAULT_MAX_BODY_BYTES, gt=0, description="Largest request body accepted")


def load_settings() -> Settings:
    return Settings()
