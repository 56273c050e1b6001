"""Building the router from settings: one place that knows where tiers, rules and budgets come from."""

from __future__ import annotations

import os
from typing import Any, Mapping

from lynkr_cli.routing.router import Router
from lynkr_cli.routing.tiers import TierMap

_TIER_ENV = ("simple", "medium", "complex", "reasoning")


def tier_strings(settings: Any, env: Mapping[str, str] | None = None) -> dict[str, str]:
    """``{"simple": "provider:model", …}`` from the settings' ``[tiers]`` table, else from ``TIER_*``.

    The environment fallback keeps Lynkr's ``TIER_SIMPLE=…`` working on a settings model that does not
    carry tiers itself.
    """
    tiers = getattr(settings, "tiers", None)
    if tiers is not None:
        if hasattr(tiers, "configured"):
            return dict(tiers.configured())
        if isinstance(tiers, Mapping):
            return {k: v for k, v in tiers.items() if v}
    env = os.environ if env is None else env
    found = {}
    for name in _TIER_ENV:
        value = env.get(f"LYNKR_TIER_{name.upper()}") or env.get(f"TIER_{name.upper()}")
        if value:
            found[name] = value.strip()
    return found


def build_router(settings: Any, env: Mapping[str, str] | None = None, ledger_path: Any = None,
                 turns: Any = None) -> Router:
    """The router a proxy uses: tiers, ``[routing]`` options and the ``[budget]`` limits; ``turns``:
    where conversations' turn choices are kept (``routing/turns.py``; default this process's memory)."""
    from lynkr_cli.routing.budget import Budget, day_start, spent_since
    from lynkr_cli.routing.config import RoutingConfig

    config = getattr(settings, "routing", None) or RoutingConfig()
    budget_settings = getattr(settings, "budget", None)
    budget = None
    if budget_settings is not None and (budget_settings.session_usd is not None or budget_settings.daily_usd is not None):
        today = spent_since(ledger_path, day_start()) if ledger_path and budget_settings.daily_usd is not None else 0.0
        budget = Budget(budget_settings.session_usd, budget_settings.daily_usd, config.budget_action, today)
    return Router(TierMap.from_strings(tier_strings(settings, env)), config, budget, turns)
