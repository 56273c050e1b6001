"""What a user key may do, checked for every model request after routing: its models, its request
rate and its budgets, counted in the database so they hold across every replica.

- Models: ``--models`` globs, matched against the model the request is routed to (``model`` or
  ``provider:model``): what the key spends, whatever the client asked for.
- Rate: requests per UTC minute, one counter row per key and minute, incremented atomically by
  every replica (``INSERT … ON CONFLICT DO UPDATE … RETURNING``): exact across replicas.
- Budgets: dollars per UTC day and month, read from the spend counters the ledger's writer keeps
  (``ledger/spend.py``), plus what this replica has seen finish and not yet written. A request is
  admitted while the spend is under the budget, so replicas together overshoot by at most what the
  requests already in flight cost when it was reached (and what other replicas finished in the few
  milliseconds before their ledger wrote it).

A refused request gets 429 (403 for a model) in its client's API format naming the limit, and a
ledger row, like every request. While the database cannot be reached (``[storage] budgets_when_down``):
``open`` goes on from the last figures this replica read for the key, adding its own spend and
requests since (each replica's overshoot is bounded by what remained at the outage); ``closed``
refuses requests of keys that have a budget or a rate.
"""

from __future__ import annotations

import asyncio
import fnmatch
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lynkr_cli.callers import current_caller
from lynkr_cli.errors import LynkrError
from lynkr_cli.keys.pending import PendingSpend
from lynkr_cli.keys.store import KeyInfo
from lynkr_cli.ledger.spend import key_scope, periods
from lynkr_cli.storage.db import Database, DatabaseUnavailable

if TYPE_CHECKING:
    from lynkr_cli.canonical import ModelRequest
    from lynkr_cli.keys.auth import KeyDirectory
    from lynkr_cli.ledger import RequestRecord
    from lynkr_cli.routing.decision import RouteDecision


class KeyBudgetExceeded(LynkrError):
    """A user key reached its daily or monthly budget."""

    http_status = 429
    anthropic_type = "rate_limit_error"
    openai_type = "insufficient_quota"


class KeyRateLimited(LynkrError):
    """A user key sent more requests this minute than its ``--rpm``."""

    http_status = 429
    anthropic_type = "rate_limit_error"
    openai_type = "rate_limit_exceeded"


class KeyModelRefused(LynkrError):
    """A user key may not use the model the request was routed to."""

    http_status = 403
    anthropic_type = "permission_error"
    openai_type = "permission_error"


class LimitsUnavailable(LynkrError):
    """``budgets_when_down = "closed"`` and the database cannot be reached."""

    http_status = 503
    anthropic_type = "overloaded_error"
    openai_type = "server_error"


@dataclass
class _Seen:
    """What this replica last read for a key, and what it has spent and sent since (outage bound)."""

    day: float = 0.0
    month: float = 0.0
    minute: int = 0
    requests: int = 0  # this minute, as last counted (in the database or, while down, here)
    spent_since: float = 0.0


class KeyLimits:
    """The per-request check of user keys (``ProxyContext.limits``)."""

    def __init__(self, directory: KeyDirectory, db: Database, when_down: str = "open", shared: bool = False) -> None:
        """``shared``: other replicas use the same database (PostgreSQL), so uncommitted spend is
        published for them (``keys/pending.py``)."""
        self.directory = directory
        self.db = db
        self.when_down = when_down
        self._seen: dict[str, _Seen] = {}
        self.pending = PendingSpend(db, shared, self._has_budget)
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="lynkr-limits")
        self._swept = 0.0

    async def check(self, request: ModelRequest, decision: RouteDecision) -> None:
        """Raise the refusal for this request's key, if any (callers without a key pass)."""
        caller = current_caller()
        if caller is None or caller.key is None:
            return
        info = self.directory.by_name(caller.key)
        if info is None:
            from lynkr_cli.errors import Unauthorized

            raise Unauthorized(f"key {caller.key!r} was revoked")
        if info.models and not _allowed(info.models, decision.provider, decision.model):
            raise KeyModelRefused(f"key {info.name!r} may not use {decision.provider}:{decision.model} "
                                  f"(allowed: {', '.join(info.models)})")
        if info.limited:
            await asyncio.get_running_loop().run_in_executor(self._pool, self._check_counted, info)

    def observe(self, record: RequestRecord) -> None:
        """A finished request (a ``ProxyContext`` listener): its cost, counted here until the ledger
        has written it (and, for the outage bound, since the last read)."""
        if record.key_name and record.cost_usd:
            with self._lock:
                self._seen.setdefault(record.key_name, _Seen()).spent_since += record.cost_usd
            self.pending.add(record.key_name, record.cost_usd)

    def committed(self, rows: list[dict[str, Any]]) -> None:
        """Request rows the ledger's writer committed (a ``Ledger`` commit listener): their spend is
        in the database's counters now, no longer pending."""
        for row in rows:
            if row.get("key_name") and row.get("cost_usd"):
                self.pending.add(row["key_name"], -row["cost_usd"])

    def close(self) -> None:
        self._pool.shutdown(wait=False)
        self.pending.close()

    def _has_budget(self, name: str) -> bool:
        info = self.directory.by_name(name)
        return info is not None and (info.budget_daily_usd is not None or info.budget_monthly_usd is not None)

    # -- worker thread ---------------------------------------------------------------------------
    def _check_counted(self, info: KeyInfo) -> None:
        now = time.time()
        minute = int(now // 60)
        try:
            counted = self._count(info, now, minute)
        except DatabaseUnavailable:
            if self.when_down == "closed":
                raise LimitsUnavailable(f"key {info.name!r} has limits and the database that counts them cannot be "
                                        "reached; try again shortly") from None
            counted = self._local(info, minute)
        requests, day, month = counted
        if info.rpm is not None and requests > info.rpm:
            raise KeyRateLimited(f"key {info.name!r} sent more than {info.rpm} requests this minute (--rpm); "
                                 f"retry in {60 - int(now % 60)} s")
        for limit, spent, label, resets in ((info.budget_daily_usd, day, "daily", "at 00:00 UTC"),
                                            (info.budget_monthly_usd, month, "monthly", "on the 1st, UTC")):
            if limit is not None and spent >= limit:
                raise KeyBudgetExceeded(f"key {info.name!r} reached its {label} budget of ${limit:.2f} "
                                        f"(${spent:.2f} spent); it resets {resets}")

    def _count(self, info: KeyInfo, now: float, minute: int) -> tuple[int, float, float]:
        """This minute's requests (this one included) and the day's and month's spend, from the database."""
        requests = 0
        if info.rpm is not None:
            found = self.db.query(
                "INSERT INTO rate (scope, minute, requests) VALUES (?, ?, 1) ON CONFLICT (scope, minute)"
                " DO UPDATE SET requests = rate.requests + 1 RETURNING requests", (key_scope(info.name), minute))
            requests = int(found[0][0])
            if now - self._swept > 60:
                self._swept = now
                self.db.execute("DELETE FROM rate WHERE minute < ?", (minute - 10,))
        day = month = pending = 0.0
        if info.budget_daily_usd is not None or info.budget_monthly_usd is not None:
            day_key, month_key = periods(now)
            scope = key_scope(info.name)
            others, others_params = self.pending.others_sql()
            figures = dict(self.db.query(f"SELECT period, usd FROM spend WHERE scope = ? AND period IN (?, ?)"
                                         f" UNION ALL {others}", (scope, day_key, month_key, scope, *others_params)))
            day, month = float(figures.get(day_key, 0.0)), float(figures.get(month_key, 0.0))
            pending = float(figures.get("pending", 0.0)) + self.pending.local(info.name)
        with self._lock:
            self._seen[info.name] = _Seen(day, month, minute, requests, 0.0)
        return requests, day + pending, month + pending

    def _local(self, info: KeyInfo, minute: int) -> tuple[int, float, float]:
        with self._lock:
            seen = self._seen.setdefault(info.name, _Seen())
            if seen.minute != minute:
                seen.minute, seen.requests = minute, 0
            seen.requests += 1
            return seen.requests, seen.day + seen.spent_since, seen.month + seen.spent_since


def _allowed(globs: tuple[str, ...], provider: str, model: str) -> bool:
    names = (model.lower(), f"{provider}:{model}".lower())
    return any(fnmatch.fnmatchcase(name, glob.lower()) for glob in globs for name in names)
