"""The router without tiers: one model for everything, Lynkr's ``MODEL_PROVIDER``, or the client's own.

It answers the proxy's router questions (``proxy/components.py:Router``) with the empty answers where
it has nothing to say: no fallback plan, no headers. Only the standard library is imported.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from lynkr_cli.routing.decision import RouteDecision

if TYPE_CHECKING:
    from lynkr_cli.canonical import ModelRequest
    from lynkr_cli.routing.fallback import FallbackPlan

# The provider a client's own format implies when nothing else is configured: Claude Code keeps
# talking to Anthropic, Codex and OpenAI-compatible tools to OpenAI.
FAMILY_PROVIDER = {"anthropic": "anthropic", "openai-chat": "openai", "openai-responses": "openai"}


@dataclass
class StaticRouter:
    """One model for everything (``lynkr run --model provider:model``), or, without one, the upstream
    the client already uses with the model it asked for. ``default_provider`` is Lynkr's
    ``MODEL_PROVIDER`` (its ``model`` from ``[providers.<id>]`` when the request names none)."""

    provider: str | None = None
    model: str | None = None
    default_provider: str | None = None
    default_model: str | None = None

    def route(self, request: ModelRequest, session: str) -> RouteDecision:
        return self.preview(request)

    def preview(self, request: ModelRequest) -> RouteDecision:
        if self.provider and self.model:
            return RouteDecision(self.provider, self.model, reason="--model")
        requested = request.model or ""
        if self.default_provider:
            return RouteDecision(self.default_provider, self.default_model or requested, reason="model_provider")
        return RouteDecision(FAMILY_PROVIDER.get(request.inbound, "anthropic"), requested, reason="client upstream")

    def fallbacks(self, decision: RouteDecision) -> FallbackPlan | None:
        return None

    def response_headers(self, decision: RouteDecision) -> list[tuple[bytes, bytes]]:
        return []

    def models(self) -> list[str]:
        return [self.model] if self.provider and self.model else []
