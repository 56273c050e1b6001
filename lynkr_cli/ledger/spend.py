"""Spend counters: dollars and requests per scope (a user key) per UTC day and month.

The ledger's writer adds each priced request to its key's counters in the same transaction as the
row itself, and only when the row was new: a row replayed from the spool after an outage is counted
once, like the row. Budgets read these counters (``routing/budget.py``), which is what makes a
budget hold across every replica sharing the database. Days and months are UTC, so replicas in
different time zones agree on when a day ends.
"""

from __future__ import annotations

import time
from typing import Any, Iterable

from lynkr_cli.storage.db import Transaction


def key_scope(name: str) -> str:
    return f"key:{name}"


def periods(when: float | None = None) -> tuple[str, str]:
    """The day and month counters a moment falls in: ``("d:2026-12-04", "m:2026-12")``."""
    t = time.gmtime(time.time() if when is None else when)
    return f"d:{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}", f"m:{t.tm_year:04d}-{t.tm_mon:02d}"


def increments(rows: Iterable[dict[str, Any]]) -> dict[tuple[str, str], tuple[float, int]]:
    """``{(scope, period): (usd, requests)}`` for the request rows of user keys."""
    out: dict[tuple[str, str], tuple[float, int]] = {}
    for row in rows:
        name = row.get("key_name")
        if not name:
            continue
        usd = float(row.get("cost_usd") or 0.0)
        for period in periods(row["started_at"]):
            before = out.get((key_scope(name), period), (0.0, 0))
            out[(key_scope(name), period)] = (before[0] + usd, before[1] + 1)
    return out


def add(tx: Transaction, counts: dict[tuple[str, str], tuple[float, int]]) -> None:
    for (scope, period), (usd, requests) in sorted(counts.items()):  # sorted: no deadlock between replicas
        tx.execute(
            "INSERT INTO spend (scope, period, usd, requests) VALUES (?, ?, ?, ?) ON CONFLICT (scope, period)"
            " DO UPDATE SET usd = spend.usd + excluded.usd, requests = spend.requests + excluded.requests",
            (scope, period, usd, requests),
        )
