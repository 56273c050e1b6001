"""Plain-text rendering of a route decision for ``lynkr explain`` (no colour: it is read and piped)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lynkr_cli.routing.score import THRESHOLDS

if TYPE_CHECKING:
    from lynkr_cli.routing.router import Classification, TierDecision, Router


def render(decision: "TierDecision", classification: "Classification", router: "Router") -> str:
    tier = decision.tier.name if decision.tier is not None else "-"
    lines = [f"tier       {tier}", f"score      {decision.score:g} / 100"]
    if decision.target is not None:
        lines.append(f"model      {decision.target}")
    elif router.enabled:
        lines.append("model      (the agent's own choice)")
    else:
        lines.append("model      (no tiers configured: tier shown alone; set [tiers] or TIER_SIMPLE=provider:model …)")
    lines.append(f"rule       {decision.rule or 'score'}")
    lines.append(f"reason     {decision.reason}")
    for i, hit in enumerate(classification.matched):
        lines.append(f"{'matched' if i == 0 else '':<10} {hit}")
    lines.append("breakdown")
    if not decision.parts:
        lines.append("  (no signal: nothing in the prompt raised the score)")
    for part in decision.parts:
        lines.append(f"  {part.dimension:<14} {part.points:+6.1f}   {part.detail}")
    cuts = ", ".join(f"{t.name} ≥ {v:g}" for t, v in sorted(THRESHOLDS.items()))
    lines.append(f"thresholds {cuts}")
    f = classification.features
    lines.append(f"request    ~{f.text_tokens} prompt tokens, ~{f.context_tokens} context tokens, "
                 f"{f.user_turns} user turn(s), {f.tools_available} tool(s)")
    return "\n".join(lines)
