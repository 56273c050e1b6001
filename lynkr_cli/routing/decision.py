"""Where one request goes, and why: the one ``RouteDecision`` a router gives and the proxy acts on.

Every router answers with it (``routing/static.py:StaticRouter``, ``routing/proxy.py:TierRouter``),
the ledger stores ``as_dict()`` under ``details["route"]``, and ``lynkr explain`` prints it. Only the
standard library is imported here, so any layer may use it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any


@dataclass(frozen=True)
class RouteDecision:
    """``provider:model`` for one request, with the tier and score when a tier router decided."""

    provider: str
    model: str
    tier: str | None = None
    score: float | None = None
    reason: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"provider": self.provider, "model": self.model, "reason": self.reason}
        if self.tier is not None:
            out["tier"] = self.tier
        if self.score is not None:
            out["score"] = self.score
        if self.details:
            out.update(self.details)
        return out

    def moved_to(self, provider: str, model: str) -> RouteDecision:
        """The same decision, answered by another model (a failover)."""
        return replace(self, provider=provider, model=model)
