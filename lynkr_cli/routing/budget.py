"""Dollar budgets per session and per day: downgrade to the cheapest tier, or stop with a clear message.

Spend is the ledger's own ``cost_usd`` (list prices, cache reads and writes included): the day's
spend is read from the ledger once when the proxy starts, and every finished request of this proxy is
added as it is recorded. A request whose cost is unknown adds nothing (it is shown as unpriced in the
report). "Downgrade" keeps the session working on the SIMPLE tier's model once a limit is reached
(a soft limit); when there is nothing cheaper to go to, or with ``budget_action = "stop"``, requests
are refused in the client's own error format and the agent shows the message.
"""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from typing import TYPE_CHECKING

from lynkr_cli.errors import LynkrError
from lynkr_cli.routing.tiers import Tier

if TYPE_CHECKING:
    from pathlib import Path

    from lynkr_cli.ledger import RequestRecord
    from lynkr_cli.routing.router import TierDecision
    from lynkr_cli.routing.tiers import TierMap


class BudgetExceeded(LynkrError):
    """A session or daily spending limit was reached."""

    http_status = 400  # not 429: agents retry a 429 for minutes before showing anything
    anthropic_type = "invalid_request_error"
    openai_type = "insufficient_quota"


def day_start(now: float | None = None) -> float:
    """Local midnight of the day ``now`` falls in."""
    t = time.localtime(now if now is not None else time.time())
    return time.mktime((t.tm_year, t.tm_mon, t.tm_mday, 0, 0, 0, 0, 0, -1))


class Budget:
    """Tracks spend and turns a route decision into a cheaper one, or a refusal, at the limits."""

    def __init__(self, session_usd: float | None = None, daily_usd: float | None = None,
                 action: str = "downgrade", spent_today: float = 0.0, now: float | None = None) -> None:
        self.session_usd = session_usd
        self.daily_usd = daily_usd
        self.action = action
        self.spent_session = 0.0
        self.spent_today = spent_today
        self._day = day_start(now)
        self._lock = threading.Lock()

    @property
    def active(self) -> bool:
        return self.session_usd is not None or self.daily_usd is not None

    def observe(self, record: "RequestRecord") -> None:
        """A finished request (a ``ProxyContext`` listener)."""
        if record.cost_usd:
            self.add(record.cost_usd, record.started_at)

    def add(self, usd: float, when: float | None = None) -> None:
        with self._lock:
            today = day_start(when)
            if today > self._day:
                self._day, self.spent_today = today, 0.0
            self.spent_session += usd
            self.spent_today += usd

    def exceeded(self) -> str | None:
        """Which limit is reached, in words, or None."""
        with self._lock:
            if day_start() > self._day:
                self._day, self.spent_today = day_start(), 0.0
            if self.session_usd is not None and self.spent_session >= self.session_usd:
                return f"session budget of ${self.session_usd:.2f} reached (${self.spent_session:.2f} spent)"
            if self.daily_usd is not None and self.spent_today >= self.daily_usd:
                return f"daily budget of ${self.daily_usd:.2f} reached (${self.spent_today:.2f} spent today)"
        return None

    def apply(self, decision: "TierDecision", tiers: "TierMap") -> "TierDecision":
        why = self.exceeded() if self.active else None
        if why is None:
            return decision
        cheapest = tiers.target_for(Tier.SIMPLE) if tiers.enabled else None
        if self.action == "downgrade" and cheapest is not None:
            if decision.target == cheapest:
                return replace(decision, reason=f"{decision.reason}; {why}, already on the cheapest tier")
            return replace(decision, tier=tiers.serving_tier(Tier.SIMPLE), target=cheapest, sticky=False,
                           rule="budget", reason=f"{why}: downgraded to {cheapest} (was {decision.target})")
        hint = "raise [budget] session_usd/daily_usd in lynkr.toml, or configure a cheaper SIMPLE tier"
        return replace(decision, rule="budget", reason=why, stop=BudgetExceeded(f"{why}; {hint}"))


def spent_since(ledger_path: Path | str, since: float) -> float:
    """Dollars recorded in the ledger since ``since`` (all sessions); 0 when there is no ledger yet."""
    import sqlite3

    try:
        conn = sqlite3.connect(f"file:{ledger_path}?mode=ro", uri=True, timeout=2)
    except sqlite3.Error:
        return 0.0
    try:
        row = conn.execute("SELECT COALESCE(SUM(cost_usd), 0) FROM requests WHERE started_at >= ?", (since,)).fetchone()
        return float(row[0] or 0.0)
    except sqlite3.Error:
        return 0.0
    finally:
        conn.close()
