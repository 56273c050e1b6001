"""The tier router as the proxy sees it (``ctx.router``): the proxy's ``Router`` questions answered
from ``routing.Router``, plus the spend the budget needs.

``TierRouter.route(request, session)`` answers with a ``RouteDecision`` (provider, model, tier,
score, reason, and the breakdown under ``details``); with no tiers configured the provider and model
are the agent's own (``default``), tier and score are still recorded. A spent budget raises
``BudgetExceeded``, which the proxy sends to the agent in its own error format. It owns the retry
policy and the circuit breakers its fallback plans carry.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lynkr_cli.routing.decision import RouteDecision
from lynkr_cli.routing.fallback import CircuitBreakers, FallbackPlan, RetryPolicy
from lynkr_cli.routing.static import StaticRouter
from lynkr_cli.routing.tiers import Target, Tier

if TYPE_CHECKING:
    from pathlib import Path

    from lynkr_cli.canonical import ModelRequest
    from lynkr_cli.ledger import RequestRecord
    from lynkr_cli.routing.router import Router, TierDecision
    from lynkr_cli.routing.setup import RoutingSettings
    from lynkr_cli.routing.turns import TurnStore


class TierRouter:
    """Adapts ``routing.Router`` to the proxy's router protocol; owns retry policy and breakers."""

    def __init__(self, router: Router, default: StaticRouter | None = None) -> None:
        """``default``: the route of a request no tier takes (the client's own upstream unless given)."""
        self.router = router
        self.default = default if default is not None else StaticRouter()
        config = router.config
        self.policy = RetryPolicy.from_config(config)
        self.breakers = CircuitBreakers(config.breaker_failures, config.breaker_cooldown_s)

    @property
    def active(self) -> bool:
        """Tiers or a fallback chain are configured: without either this router changes nothing."""
        return self.router.enabled or bool(self.router.config.fallback)

    def route(self, request: ModelRequest, session: str) -> RouteDecision:
        conversation = (request.extras or {}).get("prompt_cache_key")  # Codex names its conversation
        key = f"{session}/{conversation}" if isinstance(conversation, str) and conversation else session
        return self._decision(request, self.router.route(request, key))

    def preview(self, request: ModelRequest) -> RouteDecision:
        """The tier the request deserves on its own (no turn kept, no budget spent)."""
        size = len(request.raw) if request.raw is not None else None
        c = self.router.classify(request.body, request.extras, size)
        target = None if c.passthrough else c.target or self.router.tiers.target_for(c.tier)
        if target is None:
            return self.default.preview(request)
        return RouteDecision(target.provider, target.model, tier=c.tier.name, score=c.score, reason=c.reason)

    def fallbacks(self, decision: RouteDecision) -> FallbackPlan | None:
        """The models to try after ``decision``'s one fails, in order (none without routing)."""
        if not self.active:
            return None
        tier = Tier[decision.tier] if decision.tier is not None and decision.tier in Tier.__members__ else None
        if not decision.details.get("routed"):
            tier = None  # not routed: only the configured chain, never a tier the user did not ask for
        chain = self.router.chain(Target(decision.provider, decision.model), tier)
        return FallbackPlan(tuple((t.provider, t.model) for t in chain), self.policy, self.breakers)

    def response_headers(self, decision: RouteDecision) -> list[tuple[bytes, bytes]]:
        """``x-lynkr-tier`` and ``x-lynkr-model`` (Lynkr's names, so its users' scripts keep working)."""
        headers = []
        if decision.tier:
            headers.append((b"x-lynkr-tier", decision.tier.encode()))
        if decision.model:
            headers.append((b"x-lynkr-model", decision.model.encode("utf-8", "replace")))
            headers.append((b"x-lynkr-provider", decision.provider.encode()))
        return headers

    def models(self) -> list[str]:
        return []

    def observe(self, record: RequestRecord) -> None:
        """A finished request (a ``ProxyContext`` listener): spend for the budget."""
        if self.router.budget is not None:
            self.router.budget.observe(record)

    def _decision(self, request: ModelRequest, decision: TierDecision) -> RouteDecision:
        if decision.stop is not None:
            raise decision.stop
        if decision.target is not None:
            provider, model = decision.target.provider, decision.target.model
        else:
            base = self.default.preview(request)
            provider, model = base.provider, base.model
        details: dict[str, Any] = {"routed": decision.routed}
        if decision.rule:
            details["rule"] = decision.rule
        if decision.sticky:
            details["sticky"] = True
        details["breakdown"] = {p.dimension: p.points for p in decision.parts}
        tier = decision.tier.name if decision.tier is not None else None
        return RouteDecision(provider, model, tier=tier, score=decision.score, reason=decision.reason, details=details)


def build_tier_router(settings: RoutingSettings, ledger_path: Path | None, default: StaticRouter,
                      turns: TurnStore | None = None) -> TierRouter:
    from lynkr_cli.routing.setup import build_router

    return TierRouter(build_router(settings, ledger_path=ledger_path, turns=turns), default)
