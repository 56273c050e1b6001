"""The router: which tier, and which ``provider:model``, answers a request, and why.

``Router.route(request, session)`` runs the force rules, slot rules and the score (``score.py``),
keeps the session coherent (``coherence.py``), applies the budget (``budget.py``) and returns a
``TierDecision`` that says what to send where, with the reason in words. With no tier configured
the decision still carries tier, score and reason (for the ledger and ``lynkr explain``) but no
target: the request goes where the agent sent it, unchanged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping

from lynkr_cli.routing.coherence import Turns, TurnChoice, conversation_key, switch_down_cost
from lynkr_cli.routing.features import Features, extract
from lynkr_cli.routing.rules import Hit, force_rules, match_force, match_slots
from lynkr_cli.routing.score import Part, score
from lynkr_cli.routing.tiers import Target, Tier, TierMap

if TYPE_CHECKING:
    from lynkr_cli.canonical import ModelRequest
    from lynkr_cli.routing.budget import Budget
    from lynkr_cli.routing.config import RoutingConfig
    from lynkr_cli.routing.turns import TurnStore

# A client may pick a tier by model name: "lynkr-reasoning", "tier:simple", "lynkr/complex".
_TIER_MODEL = re.compile(r"^(?:lynkr|tier)[-:/](simple|medium|complex|reasoning)$", re.I)


@dataclass(frozen=True)
class TierDecision:
    """Where one request goes. ``target`` None means: forward to the agent's own upstream unchanged."""

    tier: Tier | None
    target: Target | None
    score: float
    reason: str
    rule: str | None = None
    parts: tuple[Part, ...] = ()
    sticky: bool = False
    turn_start: bool = False
    stop: Exception | None = field(default=None, compare=False)

    @property
    def routed(self) -> bool:
        return self.target is not None

    def details(self) -> dict[str, Any]:
        """What the ledger stores under ``details["route"]``."""
        out: dict[str, Any] = {
            "tier": self.tier.name if self.tier is not None else None,
            "score": self.score,
            "reason": self.reason,
            "routed": self.routed,
        }
        if self.target is not None:
            out["provider"], out["model"] = self.target.provider, self.target.model
        if self.rule:
            out["rule"] = self.rule
        if self.sticky:
            out["sticky"] = True
        out["breakdown"] = {p.dimension: p.points for p in self.parts}
        return out

    def headers(self) -> list[tuple[str, str]]:
        """Response headers the client sees (Lynkr's names, so its dashboards keep working)."""
        out = []
        if self.tier is not None:
            out.append(("x-lynkr-tier", self.tier.name))
        if self.target is not None:
            out.append(("x-lynkr-model", self.target.model))
            out.append(("x-lynkr-provider", self.target.provider))
        return out


@dataclass(frozen=True)
class Classification:
    """The tier a request deserves on its own, before session coherence and budgets."""

    features: Features
    tier: Tier
    target: Target | None  # set when a slot names a model directly
    score: float
    parts: tuple[Part, ...]
    rule: str | None
    reason: str
    side: bool
    passthrough: bool = False  # a slot set to "passthrough": not routed
    matched: tuple[str, ...] = ()  # every rule and slot that matched, decisive or not (for explain)


class Router:
    """Routes requests for one proxy. Thread-safe; state is the current turn of each conversation."""

    def __init__(self, tiers: TierMap | None = None, config: "RoutingConfig | None" = None,
                 budget: "Budget | None" = None, turns: "TurnStore | None" = None) -> None:
        from lynkr_cli.routing.config import RoutingConfig

        self.tiers = tiers or TierMap({})
        self.config = config or RoutingConfig()
        self.budget = budget
        self._rules = force_rules(self.config)
        self._turns: TurnStore = turns if turns is not None else Turns()  # shared by replicas: routing/turns.py

    @property
    def enabled(self) -> bool:
        return self.tiers.enabled

    # -- classification (pure) ------------------------------------------------------------------
    def classify(self, body: Mapping[str, Any], extras: Mapping[str, Any] | None = None,
                 size_hint: int | None = None) -> Classification:
        """Rules, slots and score for one request body; no session state involved."""
        features = extract(body, extras, size_hint)
        result = score(features)
        hits = match_force(self._rules, features.text)
        slots = match_slots(features, body.get("max_tokens"), self.config)
        side = any(h.rule == "slot:background" for h in slots)
        model_hit = _model_name_hit(features.requested_model, self.config.models)
        exact = next((h for h in [model_hit, *hits, *slots] if h is not None and not h.floor), None)
        matched = tuple(f"{h.rule}: {h.reason}" for h in [model_hit, *hits, *slots] if h is not None)
        if exact is not None and exact.tier is None and exact.target is None:  # a "passthrough" slot
            return Classification(features, result.tier, None, result.total, result.parts, exact.rule, exact.reason,
                                  side, passthrough=True, matched=matched)
        tier, target, rule = result.tier, None, None
        reason = f"score {result.total:g} → {result.tier.name}"
        if exact is not None:
            tier = exact.tier if exact.tier is not None else result.tier
            target, rule = exact.target, exact.rule
            reason = exact.reason
        if target is None:
            # A title or summary of a hard conversation is still a title: words cannot raise it, size can.
            floors = slots if side and exact is not None and exact.rule == "slot:background" else [*hits, *slots]
            for floor in floors:
                if floor.floor and floor.tier is not None and floor.tier > tier:
                    tier, rule = floor.tier, floor.rule
                    reason = f"{reason}; {floor.reason}"
        return Classification(features, tier, target, result.total, result.parts, rule, reason, side, matched=matched)

    # -- routing (stateful) ---------------------------------------------------------------------
    def route(self, request: "ModelRequest", session: str | None = None) -> TierDecision:
        """The decision for one request of ``session`` (Claude Code's session id, or lynkr's)."""
        sticky = self.enabled and self.config.sticky
        key = conversation_key(session, request.messages) if sticky else ""
        if sticky and _in_tool_loop(request.messages):
            previous = self._turns.get(key)
            if previous is not None:  # the turn's decision stands; nothing to score again
                return self._with_budget(TierDecision(previous.tier, previous.target, previous.score,
                                                       f"kept for the tool loop ({previous.reason})", "sticky",
                                                       previous.parts, sticky=True))
        size = len(request.raw) if request.raw is not None else None
        c = self.classify(request.body, request.extras, size)
        target = None if c.passthrough else c.target or self.tiers.target_for(c.tier)
        if target is None:  # no tiers, or a passthrough slot: report only
            return TierDecision(c.tier, None, c.score, c.reason, c.rule, c.parts, turn_start=c.features.turn_start)
        if c.side or not sticky:
            return self._with_budget(TierDecision(c.tier, target, c.score, c.reason, c.rule, c.parts,
                                                   turn_start=c.features.turn_start))
        previous = self._turns.get(key)
        tier, reason = c.tier, c.reason
        if previous is not None and previous.target is not None and previous.target != target and _is_down(
            self.tiers, previous, tier
        ):
            prefix = max(0, c.features.context_tokens - c.features.text_tokens)
            cost = switch_down_cost(previous.target, target, prefix, self.config.turn_requests)
            saving = cost.saving_usd
            if saving is None or saving <= 0:
                reason = (f"{reason}, but kept {previous.target} from the last turn: switching down would lose "
                          f"its prompt cache ({cost.describe()})")
                self._turns.set(key, TurnChoice(previous.tier, previous.target, reason, c.score, c.parts))
                return self._with_budget(TierDecision(previous.tier, previous.target, c.score, reason, c.rule,
                                                       c.parts, sticky=True, turn_start=True))
            reason = f"{reason}; switched down ({cost.describe()})"
        self._turns.set(key, TurnChoice(tier, target, reason, c.score, c.parts))
        return self._with_budget(TierDecision(tier, target, c.score, reason, c.rule, c.parts, turn_start=True))

    def chain(self, first: Target | None, tier: Tier | None) -> list[Target]:
        """Where to go when ``first`` fails: the stronger tiers' models (``fallback_up``), then the
        configured ``routing.fallback`` list; each model once, ``first`` excluded."""
        out: list[Target] = []
        if self.config.fallback_up and tier is not None:
            out += [self.tiers.targets[t] for t in sorted(self.tiers.targets) if t > tier]
        out += [Target.parse(ref) for ref in self.config.fallback]
        chain: list[Target] = []
        for target in out:
            if target != first and target not in chain:
                chain.append(target)
        return chain

    def _with_budget(self, decision: TierDecision) -> TierDecision:
        if self.budget is None:
            return decision
        return self.budget.apply(decision, self.tiers)


def _in_tool_loop(messages: list[Any]) -> bool:
    """The last turn message is a tool result going back: the agent is mid-task."""
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") in ("user", "assistant"):
            content = message.get("content")
            return message.get("role") == "user" and isinstance(content, list) and any(
                isinstance(b, dict) and b.get("type") == "tool_result" for b in content)
    return False


def _is_down(tiers: TierMap, previous: TurnChoice, tier: Tier) -> bool:
    before = previous.tier
    if before is None and previous.target is not None:
        before = tiers.tier_of(previous.target)
    return before is not None and tier < before


def _model_name_hit(model: str | None, mapping: Mapping[str, str]) -> Hit | None:
    """The client's model name as a choice: ``lynkr-<tier>``, or a ``[routing.models]`` pattern."""
    import fnmatch

    if not model:
        return None
    match = _TIER_MODEL.match(model)
    if match is not None:
        return Hit("model-name", Tier.parse(match.group(1)), None, False, f"the client asked for {model!r}")
    for pattern, value in mapping.items():
        if fnmatch.fnmatchcase(model.lower(), pattern.lower()):
            why = f"the client asked for {model!r} ([routing.models] {pattern!r} = {value!r})"
            if ":" in value:
                return Hit("model-map", None, Target.parse(value), False, why)
            return Hit("model-map", Tier.parse(value), None, False, why)
    return None
