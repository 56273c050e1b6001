"""Force rules and slot rules: the decisions made before (or on top of) the score.

*Force rules* are regular expressions on the user's words: an exact rule sets the tier, a floor rule
only keeps it from going lower ("security analysis is never downgraded"). *Slot rules* recognise
kinds of request that need a particular model whatever their wording (claude-code-router's idea):
side requests such as Claude Code's title generation, contexts over a size threshold, images, a web
search tool, an explicit thinking budget. A slot goes to a configured tier or ``provider:model``.

Order (first match wins for exact decisions): exact force rules, then slots, then the score; floor
rules and floor slots then raise the result if needed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable

from lynkr_cli.routing.features import Features
from lynkr_cli.routing.tiers import Target, Tier

if TYPE_CHECKING:
    from lynkr_cli.routing.config import RoutingConfig


@dataclass(frozen=True)
class ForceRule:
    name: str
    pattern: re.Pattern[str]
    tier: Tier
    floor: bool = False


@dataclass(frozen=True)
class Hit:
    """A rule that fired: it names a tier, or a model directly (slots may), exactly or as a floor."""

    rule: str
    tier: Tier | None
    target: Target | None
    floor: bool
    reason: str


# Claude Code turns these words into a bigger thinking budget; its users type them on purpose.
BUILTIN_RULES: tuple[ForceRule, ...] = (
    ForceRule("think-keyword", re.compile(r"\b(?:ultrathink|megathink|think (?:really |very )?hard(?:er)?)\b", re.I),
              Tier.REASONING),
    ForceRule("chit-chat", re.compile(r"^\s*(?:hi|hello|hey|thanks|thank you|thx|ok|okay|yes|no|sure)\b[\s!.,:)]*$", re.I),
              Tier.SIMPLE),
    ForceRule("security", re.compile(r"\b(?:security|vulnerabilit\w*|exploit\w*|threat model\w*|CVE-\d{4}-\d+)", re.I),
              Tier.COMPLEX, floor=True),
)

# Side requests: a small, tool-less call whose system prompt asks for a title, a summary or a topic check.
_SIDE_SYSTEM = re.compile(
    r"\b(?:title|summari[sz]e|summary|topic|sentence-case|in under \d+ (?:characters|words)|"
    r"bash command prefix|command injection|extract (?:any )?file ?paths)\b",
    re.I,
)
_SIDE_MAX_TOKENS = 2048


def force_rules(config: "RoutingConfig | None") -> list[ForceRule]:
    """The user's rules first (in file order), then the built-in ones unless turned off."""
    rules: list[ForceRule] = []
    if config is not None:
        for i, rule in enumerate(config.rules, 1):
            rules.append(ForceRule(f"rule {i} /{rule.pattern}/", re.compile(rule.pattern), Tier.parse(rule.tier), rule.floor))
    if config is None or config.default_rules:
        rules.extend(BUILTIN_RULES)
    return rules


def match_force(rules: Iterable[ForceRule], text: str) -> list[Hit]:
    hits = []
    for rule in rules:
        found = rule.pattern.search(text) if text else None
        if found:
            how = "at least" if rule.floor else "forced to"
            hits.append(Hit(rule.name, rule.tier, None, rule.floor, f"{how} {rule.tier.name}: matched {found.group(0)!r}"))
    return hits


def is_side_request(features: Features, max_tokens: object) -> bool:
    """Claude Code's titles, topic checks and summaries: no tools, a small answer, a telling system prompt
    (or its small fast model, haiku, asked for without tools)."""
    if features.tools_available:
        return False
    small = isinstance(max_tokens, int) and max_tokens <= _SIDE_MAX_TOKENS
    haiku = "haiku" in (features.requested_model or "").lower()
    return (small or haiku) and (haiku or bool(_SIDE_SYSTEM.search(features.system_text[:4000])))


def _slot_hit(name: str, value: str | None, default_tier: Tier | None, reason: str) -> Hit | None:
    if value == "passthrough":
        return Hit(f"slot:{name}", None, None, False, f"{reason}: the agent's own upstream answers")
    if value:
        if ":" in value:
            return Hit(f"slot:{name}", None, Target.parse(value), False, reason)
        return Hit(f"slot:{name}", Tier.parse(value), None, False, reason)
    if default_tier is not None:
        return Hit(f"slot:{name}", default_tier, None, True, reason)
    return None


def match_slots(features: Features, max_tokens: object, config: "RoutingConfig") -> list[Hit]:
    """Every slot this request falls into, most constraining first (context size before cheapness)."""
    slots = config.slots
    hits: list[Hit | None] = []
    if features.context_tokens >= slots.long_context_tokens:
        hits.append(_slot_hit("long_context", slots.long_context, Tier.COMPLEX,
                              f"context of ~{features.context_tokens:,} tokens ≥ {slots.long_context_tokens:,}"))
    if features.has_image:
        hits.append(_slot_hit("image", slots.image, Tier.MEDIUM, "the turn carries an image"))
    if features.web_search:
        hits.append(_slot_hit("web_search", slots.web_search, None, "the request carries a web search tool"))
    budget = features.thinking_budget
    effort = (features.reasoning_effort or "").lower()
    if (budget is not None and budget >= slots.think_budget_tokens) or effort in ("high", "xhigh"):
        why = f"thinking budget {budget:,} tokens" if budget is not None else f"reasoning effort {effort!r}"
        hits.append(_slot_hit("think", slots.think, Tier.REASONING, why))
    if is_side_request(features, max_tokens):
        hits.append(_slot_hit("background", slots.background, Tier.SIMPLE,
                              "side request (no tools, small answer: title, summary or check)"))
    return [h for h in hits if h is not None]
