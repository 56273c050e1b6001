"""The router as the proxy sees it (``ctx.router``): a decision in the request path's terms, the
fallback candidates, and the spend the budget needs.

``TierRouter.route(request, session)`` answers with the proxy's ``RouteDecision`` (provider, model,
tier, score, reason, and the breakdown under ``details``); with no tiers configured the provider and
model are the agent's own (``default``), tier and score are still recorded. A spent budget raises
``BudgetExceeded``, which the proxy sends to the agent in its own error format.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lynkr_cli.routing.fallback import CircuitBreakers, RetryPolicy
from lynkr_cli.routing.tiers import Target, Tier

if TYPE_CHECKING:
    from lynkr_cli.canonical import ModelRequest
    from lynkr_cli.ledger import RequestRecord
    from lynkr_cli.proxy.components import RouteDecision
    from lynkr_cli.routing.router import Router


class TierRouter:
    """Adapts ``routing.Router`` to the proxy's router protocol; owns retry policy and breakers."""

    def __init__(self, router: "Router", default: Any = None) -> None:
        from lynkr_cli.proxy.components import StaticRouter

        self.router = router
        self.default = default if default is not None else StaticRouter()
        config = router.config
        self.policy = RetryPolicy.from_config(config)
        self.breakers = CircuitBreakers(config.breaker_failures, config.breaker_cooldown_s)

    def route(self, request: "ModelRequest", session: Any) -> "RouteDecision":
        from lynkr_cli.proxy.components import RouteDecision

        key = getattr(session, "session_id", session)
        key = key if isinstance(key, str) else None
        conversation = (request.extras or {}).get("prompt_cache_key")  # Codex names its conversation
        if isinstance(conversation, str) and conversation:
            key = f"{key}/{conversation}"
        decision = self.router.route(request, key)
        if decision.stop is not None:
            raise decision.stop
        if decision.target is not None:
            provider, model = decision.target.provider, decision.target.model
        else:
            base = self.default.route(request, session)
            provider, model = base.provider, base.model
        details: dict[str, Any] = {"routed": decision.routed}
        if decision.rule:
            details["rule"] = decision.rule
        if decision.sticky:
            details["sticky"] = True
        details["breakdown"] = {p.dimension: p.points for p in decision.parts}
        tier = decision.tier.name if decision.tier is not None else None
        return RouteDecision(provider, model, tier=tier, score=decision.score, reason=decision.reason, details=details)

    def chain(self, decision: "RouteDecision") -> list[Target]:
        """The models to try after ``decision``'s one fails, in order."""
        tier = Tier[decision.tier] if decision.tier is not None and decision.tier in Tier.__members__ else None
        if not decision.details.get("routed"):
            tier = None  # not routed: only the configured chain, never a tier the user did not ask for
        return self.router.chain(Target(decision.provider, decision.model), tier)

    def observe(self, record: "RequestRecord") -> None:
        """A finished request (a ``ProxyContext`` listener): spend for the budget."""
        if self.router.budget is not None:
            self.router.budget.observe(record)


def response_headers(decision: "RouteDecision") -> list[tuple[bytes, bytes]]:
    """``x-lynkr-tier`` and ``x-lynkr-model`` (Lynkr's names, so its users' scripts keep working)."""
    headers = []
    if decision.tier:
        headers.append((b"x-lynkr-tier", decision.tier.encode()))
    if decision.model:
        headers.append((b"x-lynkr-model", decision.model.encode("utf-8", "replace")))
        headers.append((b"x-lynkr-provider", decision.provider.encode()))
    return headers


def build_tier_router(settings: Any, ledger_path: Any = None, default: Any = None) -> TierRouter:
    from lynkr_cli.routing.setup import build_router

    return TierRouter(build_router(settings, ledger_path=ledger_path), default)
