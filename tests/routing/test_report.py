"""The exit report's per-tier line: requests and dollars per tier, failovers counted."""

from __future__ import annotations

from lynkr_cli.cli.render import short_report
from lynkr_cli.ledger.report import summarize


def row(tier: str | None, cost: float, routed: bool = True, failover: bool = False) -> dict:
    route = {"tier": tier, "routed": routed, "score": 1.0, "reason": "r"}
    if failover:
        route["failover"] = {"from": "a:x", "to": "b:y"}
    return {"route": "/v1/messages", "status": 200, "input_tokens": 10, "output_tokens": 5, "cost_usd": cost,
            "model_used": "m", "provider": "p", "details": {"route": route}}


def test_requests_and_dollars_per_tier_in_the_exit_report() -> None:
    session = {"id": "s1", "agent": "claude", "status": "finished", "exit_code": 0, "started_at": 0.0, "ended_at": 5.0}
    rows = [row("SIMPLE", 0.001), row("SIMPLE", 0.002), row("REASONING", 0.25, failover=True),
            row("COMPLEX", 9.0, routed=False)]
    summary = summarize(session, rows)
    assert [(t.tier, t.requests, round(t.cost_usd, 4), t.failovers) for t in summary.by_tier] == [
        ("SIMPLE", 2, 0.003, 0), ("REASONING", 1, 0.25, 1)]
    text = short_report(summary)
    assert "tiers: SIMPLE 2 req $0.0030 · REASONING 1 req $0.2500 (1 failed over)" in text


def test_no_tier_line_without_routing() -> None:
    session = {"id": "s1", "agent": "claude", "status": "finished", "exit_code": 0, "started_at": 0.0, "ended_at": 5.0}
    assert "tiers:" not in short_report(summarize(session, [row("SIMPLE", 0.1, routed=False)]))
