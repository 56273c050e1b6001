"""Session figures computed from ledger rows: only what was measured, nothing estimated as saved.

Token counts are the upstream's own ``usage``; dollars were priced when each request finished
(``pricing.py``: the genai-prices catalogue or the config's ``[prices]``), cache reads and writes
included, and each model line says which source priced it. Requests nobody could price are counted
as unpriced, and the total says so instead of pretending they were free.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Iterable

from lynkr_cli.ledger.pricing import PRICES_AS_OF, Price

MODEL_ROUTES = frozenset({"/v1/messages", "/v1/chat/completions", "/v1/responses", "/responses", "/chat/completions"})


@dataclass
class Totals:
    requests: int = 0
    errors: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cost_usd: float = 0.0
    unpriced_requests: int = 0
    usage_missing: int = 0

    def add(self, row: dict[str, Any]) -> None:
        self.requests += 1
        if row.get("error") or (row.get("status") or 0) >= 400:
            self.errors += 1
        if row.get("input_tokens") is None and row.get("output_tokens") is None:
            self.usage_missing += 1
        self.input_tokens += row.get("input_tokens") or 0
        self.output_tokens += row.get("output_tokens") or 0
        self.cache_read_tokens += row.get("cache_read_tokens") or 0
        self.cache_write_tokens += row.get("cache_write_tokens") or 0
        if row.get("cost_usd") is not None:
            self.cost_usd += row["cost_usd"]
        elif (row.get("status") or 0) < 400 and not row.get("error"):
            self.unpriced_requests += 1


@dataclass
class ModelLine(Totals):
    model: str = ""
    provider: str = ""
    price_source: str = ""  # which source priced this model's requests, and as of when (``Price.label``)


@dataclass
class ErrorLine:
    """Failed requests with the same status, provider and message."""

    status: int | None
    provider: str
    message: str
    count: int = 0


@dataclass
class LoopLine:
    """Requests the loop guard flagged or stopped, per tool."""

    tool: str
    action: str  # flagged | stopped
    repeats: int = 0  # the longest run of identical calls seen
    count: int = 0


@dataclass
class TierLine(Totals):
    """Requests the router sent to one tier (``details.route``), and how many failed over."""

    tier: str = ""
    failovers: int = 0


@dataclass
class SessionSummary:
    session_id: str
    agent: str
    status: str
    exit_code: int | None
    started_at: float
    ended_at: float | None
    duration_s: float | None
    totals: Totals
    other_calls: int
    by_model: list[ModelLine] = field(default_factory=list)
    by_tier: list[TierLine] = field(default_factory=list)
    prices_as_of: str = PRICES_AS_OF
    optimization: dict[str, Any] | None = None  # ledger/savings.py: what the pipeline saved
    cache: dict[str, Any] | None = None  # ledger/cache_summary.py: hits, misses, skips, what hits saved
    errors: list[ErrorLine] = field(default_factory=list)  # failed requests, grouped, most frequent first
    loops: list[LoopLine] = field(default_factory=list)  # the loop guard's findings

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def summarize(session: dict[str, Any], requests: Iterable[dict[str, Any]]) -> SessionSummary:
    """The figures of one session from its ledger rows."""
    requests = list(requests)
    totals = Totals()
    by_model: dict[tuple[str, str], ModelLine] = {}
    by_tier: dict[str, TierLine] = {}
    other = 0
    errors: dict[tuple[int | None, str, str], ErrorLine] = {}
    loops: dict[tuple[str, str], LoopLine] = {}
    for row in requests:
        if row["route"] not in MODEL_ROUTES:
            other += 1
            continue
        totals.add(row)
        model = row.get("model_used") or row.get("model_requested") or "unknown"
        key = (model, row.get("provider") or "")
        line = by_model.setdefault(key, ModelLine(model=key[0], provider=key[1]))
        line.add(row)
        line.price_source = line.price_source or _price_source(row)
        _add_tier(by_tier, row)
        _add_error(errors, row)
        _add_loop(loops, row)
    ended = session.get("ended_at")
    return SessionSummary(
        session_id=session["id"],
        agent=session["agent"],
        status=session["status"],
        exit_code=session.get("exit_code"),
        started_at=session["started_at"],
        ended_at=ended,
        duration_s=(ended - session["started_at"]) if ended else None,
        totals=totals,
        other_calls=other,
        by_model=sorted(by_model.values(), key=lambda line: -line.requests),
        by_tier=[by_tier[t] for t in TIER_ORDER if t in by_tier],
        optimization=_optimization(requests),
        cache=_cache(requests),
        errors=sorted(errors.values(), key=lambda e: -e.count),
        loops=list(loops.values()),
    )


def _cache(requests: Iterable[dict[str, Any]]) -> dict[str, Any] | None:
    from lynkr_cli.ledger.cache_summary import cache_summary

    return cache_summary(requests)


def _optimization(requests: Iterable[dict[str, Any]]) -> dict[str, Any] | None:
    from lynkr_cli.ledger.savings import compute_savings

    savings = compute_savings(r for r in requests if r["route"] in MODEL_ROUTES)
    return savings.to_dict() if savings is not None else None


TIER_ORDER = ("SIMPLE", "MEDIUM", "COMPLEX", "REASONING")


def _add_tier(by_tier: dict[str, TierLine], row: dict[str, Any]) -> None:
    route = (row.get("details") or {}).get("route") or {}
    tier = route.get("tier")
    if not route.get("routed") or tier not in TIER_ORDER:
        return
    line = by_tier.setdefault(tier, TierLine(tier=tier))
    line.add(row)
    if route.get("failover"):
        line.failovers += 1


def _price_source(row: dict[str, Any]) -> str:
    """``Price.label`` of the price stored with the row; rows from before prices were stored with them
    were priced by lynkr's earlier hand-written table."""
    stored = (row.get("details") or {}).get("price")
    if isinstance(stored, dict):
        return Price.from_dict(stored).label
    if row.get("cost_usd") is not None:
        return "lynkr's earlier price table (recorded before genai-prices)"
    return "" if (row.get("status") or 0) >= 400 or row.get("error") else "unpriced"


def _add_error(errors: dict[tuple[int | None, str, str], ErrorLine], row: dict[str, Any]) -> None:
    if not row.get("error") and (row.get("status") or 0) < 400:
        return
    message = str(row.get("error") or f"HTTP {row.get('status')}")
    key = (row.get("status"), row.get("provider") or "", message)
    errors.setdefault(key, ErrorLine(key[0], key[1], key[2])).count += 1


def _add_loop(loops: dict[tuple[str, str], LoopLine], row: dict[str, Any]) -> None:
    loop = (row.get("details") or {}).get("loop_guard")
    if not isinstance(loop, dict):
        return
    key = (str(loop.get("tool")), str(loop.get("action")))
    line = loops.setdefault(key, LoopLine(tool=key[0], action=key[1]))
    line.count += 1
    line.repeats = max(line.repeats, int(loop.get("repeats") or 0))
