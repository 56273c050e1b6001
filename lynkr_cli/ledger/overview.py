"""Figures over many sessions (``lynkr report --since 7d``): totals, breakdowns, savings, cache, per day.

Built from ledger rows only, like ``report.summarize``: measured tokens and list-price dollars. Other
components' facts come from ``details``: ``route`` (tier), ``pipeline`` (per-stage tokens saved, an
o200k estimate), ``cache`` (hit or miss). A component that recorded nothing simply adds no line.
"""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable

from lynkr_cli.ledger.pricing import PRICE_SOURCE
from lynkr_cli.ledger.report import MODEL_ROUTES, Totals

DAY = 86400.0
NO_KEY = "(no key)"  # requests made with the serve or session token, not a user key
_SINCE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([mhdw])\s*$")
_UNIT = {"m": 60.0, "h": 3600.0, "d": DAY, "w": 7 * DAY}


def parse_since(text: str, now: float | None = None) -> float:
    """``7d``, ``12h``, ``30m``, ``2w`` or a date ``2026-11-01`` -> a Unix time."""
    now = time.time() if now is None else now
    match = _SINCE.match(text)
    if match:
        return now - float(match[1]) * _UNIT[match[2]]
    try:
        return time.mktime(time.strptime(text.strip(), "%Y-%m-%d"))
    except ValueError:
        from lynkr_cli.errors import UsageError

        raise UsageError(f"--since expects a duration like 7d, 12h, 30m, 2w or a date YYYY-MM-DD, not {text!r}") from None


@dataclass
class Line(Totals):
    """Totals for one value of a breakdown (an agent, a model, a tier, a day)."""

    name: str = ""
    sessions: int = 0


@dataclass
class StageSavings:
    stage: str
    requests_changed: int = 0
    tokens_before: int = 0
    tokens_after: int = 0

    @property
    def saved(self) -> int:
        return self.tokens_before - self.tokens_after


@dataclass
class SessionRow:
    """One session as a CSV row and a line of the JSON."""

    id: str
    started_at: float
    agent: str
    status: str
    exit_code: int | None
    duration_s: float | None
    requests: int
    errors: int
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    cost_usd: float
    tokens_saved: int
    cache_hits: int


@dataclass
class Overview:
    since: float | None
    until: float
    sessions: int = 0
    totals: Totals = field(default_factory=Totals)
    by_agent: list[Line] = field(default_factory=list)
    by_model: list[Line] = field(default_factory=list)
    by_tier: list[Line] = field(default_factory=list)
    by_key: list[Line] = field(default_factory=list)  # user keys (lynkr keys); "(no key)": the serve token
    by_day: list[Line] = field(default_factory=list)
    stages: list[StageSavings] = field(default_factory=list)
    tokens_saved: int = 0
    cache_hits: int = 0
    cache_lookups: int = 0
    rows: list[SessionRow] = field(default_factory=list)
    prices_as_of: str = PRICE_SOURCE  # the catalogue new rows are priced with

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["stages"] = [dict(asdict(s), saved=s.saved) for s in self.stages]
        return data


def _cache_hit(details: dict[str, Any]) -> bool | None:
    """True/False when the cache looked the request up, None when it did not record anything."""
    cache = details.get("cache")
    if not isinstance(cache, dict):
        return None
    if "hit" in cache:
        return bool(cache["hit"])
    if cache.get("decision") == "skip":  # not cacheable: no lookup happened
        return None
    status = cache.get("decision") or cache.get("status") or cache.get("result")
    return None if status is None else str(status).startswith("hit")


def build_overview(
    sessions: Iterable[dict[str, Any]],
    requests_of: Any,
    since: float | None = None,
    now: float | None = None,
) -> Overview:
    """Aggregate ``sessions`` (dicts from ``LedgerReader.sessions``); ``requests_of(id)`` gives their rows."""
    out = Overview(since=since, until=time.time() if now is None else now)
    agents: dict[str, Line] = {}
    models: dict[str, Line] = {}
    tiers: dict[str, Line] = {}
    keys: dict[str, Line] = {}
    days: dict[str, Line] = {}
    stages: dict[str, StageSavings] = {}
    for session in sessions:
        out.sessions += 1
        agent = agents.setdefault(session["agent"], Line(name=session["agent"]))
        agent.sessions += 1
        day_name = time.strftime("%Y-%m-%d", time.localtime(session["started_at"]))
        day = days.setdefault(day_name, Line(name=day_name))
        day.sessions += 1
        row = SessionRow(session["id"], session["started_at"], session["agent"], session["status"],
                         session.get("exit_code"),
                         (session["ended_at"] - session["started_at"]) if session.get("ended_at") else None,
                         0, 0, 0, 0, 0, 0, 0.0, 0, 0)
        mine = Totals()
        for request in requests_of(session["id"]):
            if request["route"] not in MODEL_ROUTES:
                continue
            for totals in (out.totals, agent, day, mine):
                totals.add(request)
            model = request.get("model_used") or request.get("model_requested") or "unknown"
            models.setdefault(model, Line(name=model)).add(request)
            key = request.get("key_name") or NO_KEY
            keys.setdefault(key, Line(name=key)).add(request)
            details = request.get("details") or {}
            route = details.get("route") or {}
            if route.get("routed") and route.get("tier"):
                tiers.setdefault(str(route["tier"]), Line(name=str(route["tier"]))).add(request)
            pipeline = details.get("pipeline") or {}
            for report in pipeline.get("stages") or []:
                if not report.get("changed"):
                    continue
                s = stages.setdefault(report["stage"], StageSavings(report["stage"]))
                s.requests_changed += 1
                s.tokens_before += int(report.get("tokens_before") or 0)
                s.tokens_after += int(report.get("tokens_after") or 0)
                row.tokens_saved += int(report.get("tokens_before") or 0) - int(report.get("tokens_after") or 0)
            hit = _cache_hit(details)
            if hit is not None:
                out.cache_lookups += 1
                out.cache_hits += hit
                row.cache_hits += hit
        for name in ("requests", "errors", "input_tokens", "output_tokens", "cache_read_tokens",
                     "cache_write_tokens", "cost_usd"):
            setattr(row, name, getattr(mine, name))
        out.rows.append(row)
    out.by_agent = sorted(agents.values(), key=lambda line: (-line.cost_usd, -line.requests))
    out.by_model = sorted(models.values(), key=lambda line: (-line.cost_usd, -line.requests))
    out.by_key = sorted(keys.values(), key=lambda line: (-line.cost_usd, -line.requests, line.name))
    order = {"SIMPLE": 0, "MEDIUM": 1, "COMPLEX": 2, "REASONING": 3}
    out.by_tier = sorted(tiers.values(), key=lambda line: order.get(line.name.upper(), 9))
    out.by_day = _fill_days(days, since, out.until)
    out.stages = sorted(stages.values(), key=lambda s: -s.saved)
    out.tokens_saved = sum(s.saved for s in out.stages)
    return out


def _fill_days(days: dict[str, Line], since: float | None, until: float) -> list[Line]:
    """One line per calendar day in the window, zero for quiet days (so a sparkline shows time)."""
    if not days:
        return []
    start = since if since is not None else min(time.mktime(time.strptime(d, "%Y-%m-%d")) for d in days)
    names = []
    t = start
    while t <= until + 1:
        names.append(time.strftime("%Y-%m-%d", time.localtime(t)))
        t += DAY
    last = time.strftime("%Y-%m-%d", time.localtime(until))
    if names[-1] != last:
        names.append(last)
    seen: list[str] = []
    for name in names + sorted(days):
        if name not in seen:
            seen.append(name)
    return [days.get(name) or Line(name=name) for name in sorted(seen)]
