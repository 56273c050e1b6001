"""lynkr's configuration, read once into typed models (pydantic-settings).

Precedence, lowest first (``lynkr config show`` prints which layer set each value)::

    defaults < profile (--profile / LYNKR_PROFILE / ``profile = …``) < user ~/.config/lynkr/config.toml
             < project ./lynkr.toml (nearest up the tree) < environment (Lynkr's names < LYNKR_*) < flags

Adding a section: define a pydantic model in your own package and add ONE field line to ``Settings``
(``cache: CacheConfig = CacheConfig()``). It is then read from ``[cache]`` in the TOML files, from
``LYNKR_CACHE__MODE`` in the environment, and shown by ``lynkr config show``; a short alias such as
``LYNKR_CACHE`` is one line in ``lynkr_cli/config/env.py:ALIASES``.

``Settings`` is a pydantic-settings ``BaseSettings`` whose only source is its arguments: lynkr's own
layers (``config/layers.py``) read the files and the environment once, with provenance for
``lynkr config show``, Lynkr's variable names and aliases; a second reading of ``os.environ`` by
pydantic-settings failed on values lynkr accepts (``LYNKR_AGENTS=claude,codex``) and leaked the
process's variables into a caller's own ``env`` mapping (``tests/config/test_env_read_once.py``).

Imported off the start-up path of ``lynkr run`` (pydantic and the models take ~0.1 s to import).
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from lynkr_cli.pipeline.config import PipelineConfig
from lynkr_cli.cache.config import CacheConfig, CacheSetting
from lynkr_cli.proxy.context import DEFAULT_MAX_BODY_BYTES
from lynkr_cli.ledger.price_config import PricesConfig
from lynkr_cli.routing.config import RoutingConfig
from lynkr_cli.statusline.config import StatuslineConfig
from lynkr_cli.storage.config import StorageConfig

TIER_NAMES = ("simple", "medium", "complex", "reasoning")
_MODEL_REF = re.compile(r"^[a-z0-9][a-z0-9_.-]*:\S+$")


class TierSettings(BaseModel):
    """Which model serves each tier, as ``provider:model`` (Lynkr's ``TIER_*`` format).

    No tier set means no routing: every request goes to the upstream the agent asked for.
    """

    model_config = ConfigDict(extra="forbid")

    simple: str | None = Field(default=None, description="Short, easy requests (titles, one-liners)")
    medium: str | None = Field(default=None, description="Ordinary coding turns")
    complex: str | None = Field(default=None, description="Multi-file changes, refactors")
    reasoning: str | None = Field(default=None, description="Hard reasoning, architecture, debugging")

    @field_validator(*TIER_NAMES)
    @classmethod
    def _is_model_ref(cls, value: str | None) -> str | None:
        if value is not None and not _MODEL_REF.match(value):
            raise ValueError("expected provider:model, e.g. ollama:qwen2.5-coder")
        return value

    def configured(self) -> dict[str, str]:
        return {name: ref for name in TIER_NAMES if (ref := getattr(self, name))}


class ProviderSettings(BaseModel):
    """Where one provider lives and how lynkr authenticates to it.

    Prefer ``api_key_env`` (the name of a variable holding the key) over ``api_key`` in files, so the
    config can be shared without leaking a secret.
    """

    model_config = ConfigDict(extra="forbid")

    base_url: str | None = Field(default=None, description="API base URL")
    api_key: SecretStr | None = Field(default=None, description="API key (prefer api_key_env)")
    api_key_env: str | None = Field(default=None, description="Environment variable holding the API key")
    model: str | None = Field(default=None, description="Model used when a request names none")
    headers: dict[str, str] = Field(default_factory=dict, description="Extra headers sent to this provider")
    options: dict[str, str] = Field(default_factory=dict, description="Family options (api_version, region, …)")


class BudgetSettings(BaseModel):
    """Spending limits in US dollars at list prices; unset means unlimited."""

    model_config = ConfigDict(extra="forbid")

    session_usd: float | None = Field(default=None, ge=0, description="Limit per session")
    daily_usd: float | None = Field(default=None, ge=0, description="Limit per calendar day (all sessions)")


class ServeSettings(BaseModel):
    """``lynkr serve``: the proxy standalone for editors and other OpenAI/Anthropic clients."""

    model_config = ConfigDict(extra="forbid")

    host: str = Field(default="127.0.0.1", description="Interface to bind")
    port: int = Field(default=8081, ge=0, le=65535, description="Port to bind (Lynkr's default 8081)")
    token: SecretStr | None = Field(
        default=None, description="Access token clients must send (32+ random characters; default: generated "
        "into $LYNKR_HOME/serve-token)")
    allowed_hosts: list[str] = Field(
        default_factory=list, description="Host names clients may use besides IP addresses and localhost")
    allowed_origins: list[str] = Field(
        default_factory=list, description="Web page origins allowed to call the proxy (none by default)")
    body_timeout_s: float = Field(default=30.0, gt=0, description="Seconds a request body may stall (then 408)")
    body_budget_mb: int = Field(default=256, gt=0, description="Memory for request bodies held at once (then 503)")
    max_connections: int | None = Field(
        default=None, gt=0, description="Client connections open at once (default: from the open-files limit)")


class Settings(BaseSettings):
    """Every setting lynkr reads. ``config.load_settings()`` is the way to build one (it applies the layers)."""

    model_config = SettingsConfigDict(extra="forbid")

    profile: str | None = Field(default=None, description="Shipped or user profile applied under the config files")
    agents: list[str] = Field(default_factory=list, description="Agents you use (chosen by lynkr init)")
    model_provider: str | None = Field(default=None, description="Default provider (Lynkr's MODEL_PROVIDER)")
    tiers: TierSettings = TierSettings()
    providers: dict[str, ProviderSettings] = Field(default_factory=dict)
    budget: BudgetSettings = BudgetSettings()
    serve: ServeSettings = ServeSettings()
    anthropic_base_url: str | None = Field(default=None, description="Upstream for Anthropic requests")
    max_body_bytes: int = Field(default=DEFAULT_MAX_BODY_BYTES, gt=0, description="Largest request body accepted")
    pipeline: PipelineConfig = Field(default_factory=PipelineConfig, description="Optimization stages")
    routing: RoutingConfig = Field(default_factory=RoutingConfig, description="Tier routing, fallback, budgets")
    cache: CacheSetting = Field(default_factory=CacheConfig, description="Response cache (LYNKR_CACHE=off|exact|semantic)")
    prices: PricesConfig = Field(default_factory=PricesConfig, description="Model prices (the catalogue, overridden)")
    statusline: StatuslineConfig = Field(default_factory=StatuslineConfig, description="Claude Code's status line")
    storage: StorageConfig = Field(default_factory=StorageConfig,
                                   description="Team storage: a postgresql:// URL shared by every lynkr serve")
    retention_days: int = Field(default=30, ge=0, description="Days unused pipeline decisions and elided texts are kept (0: forever)")

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings],
                                   init_settings: PydanticBaseSettingsSource,
                                   env_settings: PydanticBaseSettingsSource,
                                   dotenv_settings: PydanticBaseSettingsSource,
                                   file_secret_settings: PydanticBaseSettingsSource,
                                   ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Only what ``load_settings`` merged from lynkr's layers (see the module docstring)."""
        return (init_settings,)

