"""Routing settings: the ``[routing]`` table of the config file (tiers themselves live in ``[tiers]``).

Example ``lynkr.toml``::

    [tiers]
    simple = "ollama:qwen2.5-coder"
    complex = "anthropic:claude-sonnet-4-5"

    [routing]
    fallback = ["anthropic:claude-sonnet-4-5"]      # tried in order when a tier's provider fails
    budget_action = "downgrade"                      # or "stop", when [budget] limits are reached

    [[routing.rules]]                                # force rules, checked before the scorer
    pattern = "(?i)\\bterraform\\b"
    tier = "complex"
    floor = true                                     # at least COMPLEX (false: exactly COMPLEX)

    [routing.models]                                 # what the agent asks for -> tier or model
    "claude-opus*" = "reasoning"                     # Claude Code's /model opus: always the top tier
    "gpt-5-codex" = "complex"

    [routing.slots]                                  # side requests and special requests
    background = "simple"                            # tier name, provider:model, or "passthrough"
    long_context = "anthropic:claude-sonnet-4-5"
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from lynkr_cli.errors import UsageError
from lynkr_cli.routing.tiers import Target, Tier

# A slot value meaning "not routed": the agent's own upstream and model answer.
PASSTHROUGH = "passthrough"


def _tier_or_target(value: str | None) -> str | None:
    """Validation errors must be ``ValueError`` so the config layer names the key and the file."""
    if value is None or value == "":
        return None
    if value == PASSTHROUGH:
        return value
    try:
        Target.parse(value) if ":" in value else Tier.parse(value)
    except UsageError as exc:
        raise ValueError(str(exc)) from None
    return value


class ForceRuleConfig(BaseModel):
    """A regular expression on the user's words that decides the tier before the scorer does."""

    model_config = ConfigDict(extra="forbid")

    pattern: str = Field(description="Python regular expression searched in the user's last words")
    tier: str = Field(description="simple, medium, complex or reasoning")
    floor: bool = Field(default=False, description="true: at least this tier; false: exactly this tier")

    @field_validator("tier")
    @classmethod
    def _tier(cls, value: str) -> str:
        tier = _tier_or_target(value)
        if tier is None or ":" in tier:
            raise ValueError("a force rule names a tier (simple, medium, complex, reasoning)")
        return tier.lower()

    @field_validator("pattern")
    @classmethod
    def _pattern(cls, value: str) -> str:
        import re

        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from None
        return value


class SlotConfig(BaseModel):
    """Where special requests go: a tier name or a ``provider:model``; empty keeps the default."""

    model_config = ConfigDict(extra="forbid")

    background: str | None = Field(default="simple", description="Side requests: titles, summaries, checks")
    long_context: str | None = Field(default=None, description="Requests over long_context_tokens (default: at least complex)")
    long_context_tokens: int = Field(default=60_000, gt=0, description="Context size that counts as long")
    image: str | None = Field(default=None, description="Requests with images (default: at least medium)")
    web_search: str | None = Field(
        default=PASSTHROUGH,
        description="Requests carrying a web search tool (a server tool only the agent's own provider runs)",
    )
    think: str | None = Field(default="reasoning", description="Requests with an explicit thinking budget")
    think_budget_tokens: int = Field(default=8_000, ge=0, description="Thinking budget that counts as explicit")

    _check = field_validator("background", "long_context", "image", "web_search", "think")(
        classmethod(lambda cls, v: _tier_or_target(v))
    )


class RoutingConfig(BaseModel):
    """How requests are spread over the tiers, and what happens when a provider fails."""

    model_config = ConfigDict(extra="forbid")

    rules: list[ForceRuleConfig] = Field(default_factory=list, description="Force rules, checked in order")
    default_rules: bool = Field(default=True, description="Also apply lynkr's built-in force rules")
    slots: SlotConfig = SlotConfig()
    models: dict[str, str] = Field(
        default_factory=dict,
        description="Requested model name (glob) -> tier or provider:model, e.g. \"claude-opus*\" = \"reasoning\"",
    )
    sticky: bool = Field(default=True, description="Keep one model per user turn (prompt cache)")
    turn_requests: int = Field(default=4, ge=1, description="Requests a turn is expected to make (switch-down sum)")
    fallback: list[str] = Field(default_factory=list, description="provider:model chain tried after a tier fails")
    fallback_up: bool = Field(default=True, description="Before the chain, try the stronger tiers' models")
    retries: int = Field(default=2, ge=0, le=10, description="Retries of the same provider on 429/5xx/timeouts")
    backoff_s: float = Field(default=0.5, ge=0, description="First retry delay; doubles each retry")
    max_backoff_s: float = Field(default=8.0, ge=0, description="Longest delay (retry-after included)")
    breaker_failures: int = Field(default=3, ge=1, description="Failures in a row that open a provider's breaker")
    breaker_cooldown_s: float = Field(default=30.0, ge=0, description="How long an open breaker skips the provider")
    budget_action: Literal["downgrade", "stop"] = Field(default="downgrade", description="At a budget limit")
    loop_guard: Literal["warn", "stop", "off"] = Field(
        default="warn", description="Identical tool calls in a row: warn flags them, stop refuses the next request")
    loop_guard_repeats: int = Field(default=5, ge=2, description="Identical tool calls in a row that make a loop")

    @field_validator("models")
    @classmethod
    def _models(cls, value: dict[str, str]) -> dict[str, str]:
        for target in value.values():
            _tier_or_target(target)
        return value

    @field_validator("fallback")
    @classmethod
    def _chain(cls, value: list[str]) -> list[str]:
        for ref in value:
            if ":" not in ref:
                raise ValueError(f"fallback entries are provider:model, got {ref!r}")
            _tier_or_target(ref)
        return value
