"""Session coherence: one model per user turn, and no switch down that costs more than it saves.

A *turn* starts when the user speaks (the last message is user text) and lasts through the tool loop
that follows (assistant tool calls and the tool results sent back). The router decides at the start
of a turn and keeps that model until the next one: switching model mid-loop would make the provider
re-read the whole conversation uncached.

At the start of a turn, switching *up* to a stronger tier is always allowed (a wrong answer costs
more than a cache). Switching *down* is allowed only when it saves money over the turn, computed from
the dated price table (``ledger/pricing.py``) with ``P`` = the conversation prefix the current model
has cached (estimated tokens), ``O`` = expected output tokens per request, ``K`` = expected requests
in the turn (``routing.turn_requests``)::

    stay   = K × (P × old.cache_read  + O × old.output)
    switch = P × new.cache_write + (K − 1) × P × new.cache_read + K × O × new.output
    switch down only if stay − switch > 0

A local model (price 0) always qualifies; when either price is unknown, the session stays where it is
(a saving that cannot be shown is not assumed).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from lynkr_cli.routing.score import Part
from lynkr_cli.routing.tiers import Target, Tier

EXPECTED_OUTPUT_TOKENS = 600  # median output of a Claude Code main request, rounded; only an estimate
MAX_CONVERSATIONS = 512


@dataclass(frozen=True)
class TurnChoice:
    """What a conversation's current turn was routed to."""

    tier: Tier | None
    target: Target | None
    reason: str
    score: float = 0.0
    parts: tuple[Part, ...] = ()


def conversation_key(session: str | None, messages: list[Any]) -> str:
    """Session id + the first user message: the main conversation and each subagent get their own."""
    first = next((m for m in messages if isinstance(m, dict) and m.get("role") == "user"), None)
    content = first.get("content") if first is not None else None
    if isinstance(content, list):  # the texts are what identifies it; serializing it all costs ~0.1 ms
        content = "\x1f".join(b.get("text") or json.dumps(b, sort_keys=True) if isinstance(b, dict) else str(b)
                               for b in content)
    digest = hashlib.sha256(str(content).encode()).hexdigest()[:16]
    return f"{session or '-'}:{digest}"


class Turns:
    """The current turn choice of each conversation (bounded, least recently used forgotten first)."""

    def __init__(self) -> None:
        self._turns: OrderedDict[str, TurnChoice] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> TurnChoice | None:
        with self._lock:
            choice = self._turns.get(key)
            if choice is not None:
                self._turns.move_to_end(key)
            return choice

    def set(self, key: str, choice: TurnChoice) -> None:
        with self._lock:
            self._turns[key] = choice
            self._turns.move_to_end(key)
            while len(self._turns) > MAX_CONVERSATIONS:
                self._turns.popitem(last=False)


@dataclass(frozen=True)
class SwitchCost:
    stay_usd: float | None
    switch_usd: float | None

    @property
    def saving_usd(self) -> float | None:
        if self.stay_usd is None or self.switch_usd is None:
            return None
        return self.stay_usd - self.switch_usd

    def describe(self) -> str:
        if self.saving_usd is None:
            return "price unknown, so no saving can be shown"
        return f"stay ${self.stay_usd:.4f} vs switch ${self.switch_usd:.4f} over the turn"


def switch_down_cost(old: Target, new: Target, prefix_tokens: int, turn_requests: int,
                     output_tokens: int = EXPECTED_OUTPUT_TOKENS) -> SwitchCost:
    """The two sides of the switch-down computation above, in dollars."""
    from lynkr_cli.ledger.pricing import price_for

    old_price, new_price = price_for(old.model, old.provider), price_for(new.model, new.provider)
    if old_price is None or new_price is None:
        return SwitchCost(None, None)
    k, p, o = turn_requests, prefix_tokens, output_tokens
    stay = k * (p * old_price.cache_read + o * old_price.output)
    switch = p * new_price.cache_write + (k - 1) * p * new_price.cache_read + k * o * new_price.output
    return SwitchCost(stay / 1e6, switch / 1e6)
