"""The input-side bill of a sequence of requests, with prompt-cache pricing.

A request is cut into segments in the order the provider reads it (tools, system, then each message
block; for the Responses format: instructions, tools, then each input item). A provider's prompt cache
serves the longest prefix already sent, so for each request the segments it shares, from the start,
with the previous request of the session are billed as cache reads and the rest as new input: at the
cache-write price for Anthropic (which caches what carries a ``cache_control`` breakpoint), at the
input price for OpenAI (automatic caching, no write premium). A request with no breakpoint to an
Anthropic upstream is billed entirely at the input price: nothing is cached. The cache lives 5
minutes: a request sent longer than that after the previous one reads nothing. Prices come from the
ledger's price book (``ledger.pricing``: the genai-prices catalogue with tiers, and the config's
``[prices]``), so replay and ``lynkr report`` agree.

Segments (``segments.py``) are compared by content (``cache_control`` markers left out: moving a
breakpoint does not change the cached bytes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from operator import attrgetter

from lynkr_cli.ledger.pricing import DEFAULT_BOOK, PriceBook
from lynkr_cli.replay.segments import Segment

CACHE_TTL_SECONDS = 300.0
MIN_CACHEABLE_TOKENS = 1024  # below this neither Anthropic nor OpenAI caches a prefix
_TOKENS = attrgetter("tokens")  # summed over every segment of every request: a C loop, not a generator


@dataclass
class RequestBill:
    tokens: int
    cache_read: int
    cache_write: int
    uncached: int
    usd: float | None


@dataclass
class Ledger:
    """Running bill of one side (direct, or through lynkr) of one session.

    The provider keeps one cache per model, so the prefix a request can read is the one the last
    request to the same model left (a session routed back and forth between models finds its earlier
    cache again while it is warm)."""

    book: PriceBook = field(default_factory=lambda: DEFAULT_BOOK)
    requests: int = 0
    tokens: int = 0
    usd: float = 0.0
    unpriced: int = 0
    cache_read: int = 0
    _last: dict[str | None, tuple[list[Segment], float | None]] = field(default_factory=dict)

    def add(self, segments: list[Segment], model: str | None, provider: str | None, cached: bool,
            timestamp: float | None) -> RequestBill:
        """Bill one request; ``cached``: the upstream caches this request's prefix."""
        total = sum(map(_TOKENS, segments))
        previous = self._last.get(model)
        warm = previous is not None and not _expired(previous[1], timestamp)
        read = shared_tokens(previous[0], segments) if (cached and warm and previous is not None) else 0
        if read < MIN_CACHEABLE_TOKENS:
            read = 0
        write = total - read if cached else 0
        uncached = 0 if cached else total
        usd = self.book.cost(model, provider, uncached, 0, read, write)
        self.requests += 1
        self.tokens += total
        self.cache_read += read
        if usd is None:
            self.unpriced += 1
        else:
            self.usd += usd
        self._last[model] = (segments, timestamp)
        return RequestBill(total, read, write, uncached, usd)


def _expired(previous: float | None, now: float | None) -> bool:
    return previous is not None and now is not None and now - previous > CACHE_TTL_SECONDS


def shared_count(previous: list[Segment], current: list[Segment]) -> int:
    """How many leading segments ``current`` shares with ``previous``."""
    if len(previous) <= len(current) and current[:len(previous)] == previous:
        return len(previous)  # the usual case, one comparison in C (the segments are the same objects)
    n = 0
    for a, b in zip(previous, current):
        if a.key != b.key:
            break
        n += 1
    return n


def shared_tokens(previous: list[Segment], current: list[Segment]) -> int:
    return sum(map(_TOKENS, current[:shared_count(previous, current)]))


def is_prefix(previous: list[Segment], current: list[Segment]) -> bool:
    """True when ``current`` starts with every segment of ``previous`` (the cached prefix survived)."""
    return len(previous) <= len(current) and shared_count(previous, current) == len(previous)
