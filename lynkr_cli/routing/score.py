"""The complexity score: every dimension, its weight and its cap in one table, every point explained.

``score(features)`` adds up points per dimension (each capped, so one signal cannot dominate) into a
0–100 total, and ``tier_for`` cuts it at ``THRESHOLDS``. The breakdown lists each dimension that
contributed and why, which is what ``lynkr explain`` prints and the ledger stores.

How the weights were chosen: reasoning and risk words ("trade-offs", "step by step", "security",
"migration") are the strongest evidence that a cheap model will give a wrong answer, so they weigh most;
scope ("across the codebase") and task verbs ("refactor", "implement") move ordinary work up from
SIMPLE; size, code, files and history add smaller amounts; plain look-up questions ("what does git
stash do?") subtract. Which tools are *offered* is not scored: Claude Code offers all of its tools on
every request, so it says nothing; the tools *used* this turn (``tool_loop``, ``files_touched``) do. The cut points were set on ``bench/routing_set.jsonl`` and the accuracy and
confusion matrix are in ``bench/RESULTS.md``; the one hard guarantee tested is that no prompt labelled
COMPLEX or REASONING scores as SIMPLE.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from lynkr_cli.routing.features import Features
from lynkr_cli.routing.tiers import Tier


def _words(*patterns: str) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(patterns) + r")", re.I)


REASONING_WORDS = _words(
    r"step[- ]by[- ]step", r"think (?:through|hard|carefully|deeply)", r"reason(?:ing)? about", r"prove\b",
    r"proof\b", r"analy[sz]e", r"analysis", r"trade-?offs?", r"pros and cons", r"compare\b", r"comparison",
    r"evaluate", r"root cause", r"why (?:does|is|do|are|would|did)\b", r"implications", r"design (?:a|an|the)\b",
    r"architect", r"strategy", r"best approach", r"deep dive", r"investigate", r"diagnose", r"formal",
    r"invariant", r"complexity of", r"edge cases", r"correctness", r"alternatives", r"counterexample",
    r"linearizab", r"review\b", r"audit", r"recommend", r"and why\b", r"failure modes", r"guarantees",
)
RISK_WORDS = _words(
    r"secur", r"vulnerab", r"exploit", r"authenticat", r"authoriz", r"encrypt", r"crypt", r"jwt", r"oauth",
    r"password", r"secret", r"injection", r"xss", r"csrf", r"migrat", r"schema change", r"data loss",
    r"production", r"outage", r"incident", r"rollback", r"concurren", r"race condition", r"deadlock",
    r"thread[- ]safe", r"distributed", r"consisten", r"transaction", r"payment", r"banking", r"billing",
    r"complian", r"gdpr", r"pii\b", r"backward(?:s)? compat", r"breaking change", r"memory leak", r"leak",
    r"zero[- ]downtime", r"scalab", r"multi-tenant", r"permission", r"latency", r"performance", r"p99",
    r"network partition", r"lock-free", r"flaky", r"memory", r"parallel", r"deploy",
)
TASK_WORDS = _words(
    r"implement", r"refactor", r"rewrite", r"re-architect", r"restructure", r"build\b", r"create\b", r"add\b",
    r"fix\b", r"debug(?!\s*=)", r"optimi[sz]e", r"port (?:the|this|our|it)\b", r"convert", r"integrate", r"upgrade", r"write\b", r"update\b",
    r"change\b", r"extract", r"split\b", r"replace", r"support\b", r"handle\b", r"set up", r"configure",
    r"make\b", r"isolate", r"introduce", r"expose",
)
SCOPE_WORDS = _words(
    r"across (?:the|all|every|our)", r"entire", r"whole (?:codebase|project|repo|app|system|frontend|backend|api|service)", r"all (?:the )?(?:files|modules|endpoints|tests|services|callers|routes)",
    r"multiple (?:files|modules|services)", r"end[- ]to[- ]end", r"system[- ]wide", r"monorepo", r"codebase",
    r"microservices?", r"every (?:file|module|endpoint|service|call ?site)", r"(?:several|many) (?:files|modules)",
    r"from scratch", r"whole (?:module|package)", r"layers?\b", r"subsystem", r"monolith", r"go through",
    r"from (?:javascript|typescript|python|java|go|rust|ruby|php|c\+\+|c#|perl) to",
)
SIMPLE_WORDS = _words(
    r"^(?:hi|hello|hey|thanks|thank you|ok|okay|yes|no|sure|great)\b", r"^what (?:is|are|does|do)\b",
    r"^(?:who|where|when) ", r"^how do (?:i|you)\b", r"^which command", r"\bdefine\b", r"\bmeaning of\b",
    r"\bsyntax (?:for|of)\b", r"\bshow me\b", r"^list\b", r"\bwhat does\b", r"^(?:run|print|show|open|read)\b",
)
# Small edits that stay simple even though they are phrased as a change ("fix the typo").
TRIVIAL_WORDS = _words(
    r"typo", r"rename", r"one-liner", r"quick question", r"spell", r"commit message", r"f-string",
    r"set \w+=\S+", r"bump the version",
)
PART_SEPARATORS = re.compile(r",\s+(?:and\s+)?|\s+and\s+|;\s+")
TEST_WORDS = re.compile(r"\btests?\b|\bregression\b", re.I)
STEP_WORDS = re.compile(r"(?:^\s*(?:\d+[.)]|[-*•])\s+\S|\b(?:and then|after that|afterwards|finally|first,)\b)", re.I | re.M)


@dataclass(frozen=True)
class Dimension:
    """One scored aspect: points per unit of evidence, capped at ``cap`` (negative for easy signals)."""

    name: str
    per_unit: float
    cap: float
    measure: Callable[[Features], float]
    unit: str


def _count(pattern: re.Pattern[str]) -> Callable[[Features], float]:
    return lambda f: float(len({m.group(0).lower() for m in pattern.finditer(f.text)}))


def _length(f: Features) -> float:
    return max(0.0, f.text_tokens - 12) / 25  # one unit per 25 tokens past a one-line question


def _context(f: Features) -> float:
    return max(0.0, f.context_tokens - 30_000) / 15_000  # Claude Code's tools alone are ~20k tokens


def _simple(f: Features) -> float:
    """Look-up questions and chit-chat, unless the same prompt also asks for a change or carries risk."""
    if f.text_tokens > 60 or not f.text:
        return 0.0
    if any(p.search(f.text) for p in (SCOPE_WORDS, REASONING_WORDS, RISK_WORDS)):
        return 0.0
    if TRIVIAL_WORDS.search(f.text):
        return 1.0
    return float(not TASK_WORDS.search(f.text) and SIMPLE_WORDS.search(f.text) is not None)


def _history(f: Features) -> float:
    return float(max(0, f.user_turns - 2))


# The whole scoring model. Points = min(cap, per_unit × measure); a negative cap lowers the score.
WEIGHTS: tuple[Dimension, ...] = (
    Dimension("reasoning", 14, 40, _count(REASONING_WORDS), "reasoning marker"),
    Dimension("risk", 10, 25, _count(RISK_WORDS), "risk marker"),
    Dimension("scope", 10, 20, _count(SCOPE_WORDS), "broad-scope phrase"),
    Dimension("task", 10, 15, _count(TASK_WORDS), "change verb"),
    Dimension("parts", 4, 12, lambda f: float(len(PART_SEPARATORS.findall(f.text))), "listed part (comma, and)"),
    Dimension("tests", 4, 4, lambda f: float(bool(TEST_WORDS.search(f.text))), "tests asked for"),
    Dimension("steps", 5, 12, lambda f: float(len(STEP_WORDS.findall(f.text))), "listed step"),
    Dimension("length", 1.5, 15, _length, "25 tokens of prompt"),
    Dimension("code", 4, 12, lambda f: f.code_blocks * 2 + f.code_lines / 3, "code block or 3 code lines"),
    Dimension("files", 4, 12, lambda f: float(f.files_mentioned), "file named"),
    Dimension("files_touched", 2, 8, lambda f: float(f.files_touched), "file touched by a tool this turn"),
    Dimension("tool_loop", 2, 10, lambda f: float(f.tool_results_in_turn), "tool result this turn"),
    Dimension("history", 2, 6, _history, "earlier user turn"),
    Dimension("context", 2, 8, _context, "15k tokens of context past 30k"),
    Dimension("lookup", -18, -18, _simple, "plain look-up or chit-chat"),
)

# Lowest score of each tier (SIMPLE below MEDIUM's).
THRESHOLDS: dict[Tier, float] = {Tier.MEDIUM: 10, Tier.COMPLEX: 25, Tier.REASONING: 50}
# REASONING needs reasoning language, not just a big task: one marker and a score of at least 50, or
# three distinct markers ("compare", "trade-offs", "step by step") whatever the rest of the score, or
# two markers about something risky ("analyse … step by step" a password reset flow). The last rule
# was added after the first holdout (REASONING recall 1/5); bench/routing_holdout2.jsonl was written
# before it and measures it.
REASONING_MARKERS_ALONE = 3
REASONING_MARKERS_WITH_RISK = 2


@dataclass(frozen=True)
class Part:
    """Points one dimension gave, and the evidence."""

    dimension: str
    points: float
    detail: str


@dataclass(frozen=True)
class Score:
    total: float
    tier: Tier
    parts: tuple[Part, ...]

    def breakdown(self) -> dict[str, float]:
        return {p.dimension: p.points for p in self.parts}


def tier_for(total: float, reasoning_markers: int = 0, risk_markers: int = 0) -> Tier:
    """The tier of a score; REASONING also needs reasoning language (see ``REASONING_MARKERS_ALONE``)."""
    if reasoning_markers >= REASONING_MARKERS_ALONE or (
        reasoning_markers >= REASONING_MARKERS_WITH_RISK and risk_markers >= 1
    ):
        return Tier.REASONING
    tier = Tier.SIMPLE
    for candidate, lowest in sorted(THRESHOLDS.items()):
        if total >= lowest:
            tier = candidate
    if tier is Tier.REASONING and reasoning_markers == 0:
        return Tier.COMPLEX
    return tier


def score(features: Features) -> Score:
    """The 0–100 score of a request and the tier it falls in; deterministic for identical input."""
    parts = []
    markers = risks = 0
    for dim in WEIGHTS:
        amount = dim.measure(features)
        if dim.name == "reasoning":
            markers = int(amount)
        elif dim.name == "risk":
            risks = int(amount)
        if amount <= 0:
            continue
        raw = dim.per_unit * amount
        points = max(dim.cap, raw) if dim.cap < 0 else min(dim.cap, raw)
        points = round(points, 1)
        if points:
            parts.append(Part(dim.name, points, f"{amount:g} × {dim.unit}"))
    total = round(min(100.0, max(0.0, sum(p.points for p in parts))), 1)
    return Score(total, tier_for(total, markers, risks), tuple(parts))
