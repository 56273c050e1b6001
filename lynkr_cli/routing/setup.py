"""Building the router from settings: one place that knows where tiers, rules and budgets come from."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from lynkr_cli.routing.router import Router
from lynkr_cli.routing.tiers import TierMap

if TYPE_CHECKING:
    from lynkr_cli.routing.config import RoutingConfig
    from lynkr_cli.routing.turns import TurnStore


class _Tiers(Protocol):
    def configured(self) -> dict[str, str]: ...


class _Limits(Protocol):
    @property
    def session_usd(self) -> float | None: ...
    @property
    def daily_usd(self) -> float | None: ...


class RoutingSettings(Protocol):
    """What routing reads of ``lynkr_cli.settings.Settings`` (which imports routing's own models)."""

    @property
    def tiers(self) -> _Tiers: ...
    @property
    def routing(self) -> RoutingConfig: ...
    @property
    def budget(self) -> _Limits: ...


def build_router(settings: RoutingSettings, ledger_path: Path | None = None, turns: TurnStore | None = None) -> Router:
    """The router a proxy uses: tiers (``[tiers]``, Lynkr's ``TIER_*`` read into them by the config
    layers), ``[routing]`` options and the ``[budget]`` limits; ``turns``: where conversations' turn
    choices are kept (``routing/turns.py``; default this process's memory)."""
    from lynkr_cli.routing.budget import Budget, day_start, spent_since

    config, limits = settings.routing, settings.budget
    budget = None
    if limits.session_usd is not None or limits.daily_usd is not None:
        today = spent_since(ledger_path, day_start()) if ledger_path and limits.daily_usd is not None else 0.0
        budget = Budget(limits.session_usd, limits.daily_usd, config.budget_action, today)
    return Router(TierMap.from_strings(settings.tiers.configured()), config, budget, turns)
