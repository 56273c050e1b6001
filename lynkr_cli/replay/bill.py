"""The input-side bill of a sequence of requests, with prompt-cache pricing.

A request is cut into segments in the order the provider reads it (tools, system, then each message
block; for the Responses format: instructions, tools, then each input item). A provider's prompt cache
serves the longest prefix already sent, so for each request the segments it shares, from the start,
with the previous request of the session are billed as cache reads and the rest as new input: at the
cache-write price for Anthropic (which caches what carries a ``cache_control`` breakpoint), at the
input price for OpenAI (automatic caching, no write premium). A request with no breakpoint to an
Anthropic upstream is billed entirely at the input price: nothing is cached. The cache lives 5
minutes: a request sent longer than that after the previous one reads nothing. Prices come from the
ledger's price table (``ledger.pricing``), so replay and ``lynkr report`` agree.

Segments are compared by content (``cache_control`` markers left out: moving a breakpoint does not
change the cached bytes), and counted with the o200k counter every lynkr figure uses, once per
distinct segment.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

import orjson

from lynkr_cli.ledger.pricing import Price, price_for

CACHE_TTL_SECONDS = 300.0
MIN_CACHEABLE_TOKENS = 1024  # below this neither Anthropic nor OpenAI caches a prefix


@dataclass(frozen=True)
class Segment:
    key: bytes
    tokens: int


class SegmentCounter:
    """Segments of wire bodies, with their token counts memoized per object and per content."""

    def __init__(self) -> None:
        self._by_id: dict[int, tuple[Any, Segment]] = {}
        self._by_parts: dict[tuple[Any, ...], tuple[Any, Segment]] = {}
        self._messages: dict[int, tuple[Any, list[Segment]]] = {}
        self._by_key: dict[bytes, int] = {}

    def segments(self, body: Mapping[str, Any], wire: str) -> list[Segment]:
        if wire == "openai-responses":
            return self._responses(body)
        return self._anthropic(body)

    def _anthropic(self, body: Mapping[str, Any]) -> list[Segment]:
        out = [self._segment("tool", tool, _count_tool) for tool in body.get("tools") or []]
        system = body.get("system")
        if isinstance(system, str):
            out.append(self._text("system", system))
        elif isinstance(system, list):
            out.extend(self._segment("system", block, _count_block) for block in system)
        for message in body.get("messages") or []:
            out.extend(self._message(message))
        return out

    def _message(self, message: Any) -> list[Segment]:
        """A message's segments; the same message object (the history, resent every turn) is cut once."""
        found = self._messages.get(id(message))
        if found is not None and found[0] is message:
            return found[1]
        role = str(message.get("role"))
        content = message.get("content")
        if isinstance(content, str):  # the same bytes to the cache as one text block
            content = [{"type": "text", "text": content}]
        segments = []
        if isinstance(content, list):
            for position, block in enumerate(content):
                tag = f"{role}:first" if position == 0 else role
                segments.append(self._segment(tag, block, _count_block))
        self._messages[id(message)] = (message, segments)
        return segments

    def _responses(self, body: Mapping[str, Any]) -> list[Segment]:
        out = []
        if isinstance(body.get("instructions"), str):
            out.append(self._text("instructions", body["instructions"]))
        out.extend(self._segment("tool", tool, _count_tool) for tool in body.get("tools") or [])
        items = body.get("input")
        if isinstance(items, str):
            out.append(self._text("input", items))
        else:
            out.extend(self._segment("item", item, _count_item) for item in items or [])
        return out

    def _text(self, tag: str, text: str) -> Segment:
        from lynkr_cli.tokens import count_text

        key = hashlib.blake2b(f"{tag}\x00{text}".encode(), digest_size=16).digest()
        tokens = self._by_key.get(key)
        if tokens is None:
            tokens = self._by_key[key] = count_text(text)
        return Segment(key, tokens)

    def _segment(self, tag: str, value: Any, count: Any) -> Segment:
        found = self._by_id.get(id(value))
        if found is not None and found[0] is value:
            return found[1]
        # A stage's rewrite is a new dict each request around the same (memoized) values: a dict whose
        # values are the very objects seen before is the same segment, without serializing it again.
        parts = (tag, *((k, id(v)) for k, v in value.items() if k != "cache_control")) \
            if isinstance(value, dict) else None
        if parts is not None:
            seen = self._by_parts.get(parts)
            if seen is not None:
                return seen[1]
        plain = _without_cache_control(value)
        key = hashlib.blake2b(tag.encode() + b"\x00" + _dump(plain),
                              digest_size=16).digest()
        tokens = self._by_key.get(key)
        if tokens is None:
            tokens = self._by_key[key] = count(plain)
        segment = Segment(key, tokens)
        self._by_id[id(value)] = (value, segment)  # keeps ``value`` alive, so its id stays its own
        if parts is not None:
            self._by_parts[parts] = (list(value.values()), segment)  # keeps the values (and their ids) alive
        return segment


def _dump(value: Any) -> bytes:
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # an integer beyond 64 bits, say: the standard library takes anything JSON holds
        return json.dumps(value, sort_keys=True, ensure_ascii=False).encode()


def _without_cache_control(value: Any) -> Any:
    if isinstance(value, dict) and "cache_control" in value:
        return {k: v for k, v in value.items() if k != "cache_control"}
    return value


def _count_tool(tool: Any) -> int:
    from lynkr_cli.tokens import count_json

    return count_json(tool)


IMAGE_TOKENS = 1600  # Anthropic bills an image by its pixels: about 1,600 tokens at the usual 1.15 MP cap


def _count_block(block: Any) -> int:
    """Tokens of one content block; an image counts as ``IMAGE_TOKENS`` (not its base64 text)."""
    from lynkr_cli.tokens import count_content

    if isinstance(block, dict):
        if block.get("type") == "image":
            return IMAGE_TOKENS
        content = block.get("content")
        if block.get("type") == "tool_result" and isinstance(content, list):
            return sum(_count_block(part) for part in content)
    return count_content([block])


def _count_item(item: Any) -> int:
    """Tokens of one Responses input item, by what the model reads (encrypted reasoning is opaque:
    its summary is counted)."""
    from lynkr_cli.tokens import count_json, count_text

    if not isinstance(item, dict):
        return count_json(item)
    kind = item.get("type", "message")
    if kind == "message":
        content = item.get("content")
        if isinstance(content, str):
            return count_text(content)
        return sum(_count_part(p) for p in content or [])
    if kind in ("function_call", "custom_tool_call"):
        args = item.get("arguments", item.get("input", ""))
        return count_text(str(item.get("name", ""))) + count_text(args if isinstance(args, str) else json.dumps(args))
    if kind in ("function_call_output", "custom_tool_call_output"):
        output = item.get("output")
        if isinstance(output, str):
            return count_text(output)
        return sum(_count_part(p) for p in output) if isinstance(output, list) else count_json(output)
    if kind == "reasoning":
        return sum(count_text(str(s.get("text", ""))) for s in item.get("summary") or [] if isinstance(s, dict))
    return count_json(item)


def _count_part(part: Any) -> int:
    from lynkr_cli.tokens import count_json, count_text

    if isinstance(part, dict) and "text" in part:
        return count_text(str(part["text"]))
    if isinstance(part, dict) and part.get("type") == "input_image":
        return IMAGE_TOKENS
    return count_json(part)


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

    requests: int = 0
    tokens: int = 0
    usd: float = 0.0
    unpriced: int = 0
    cache_read: int = 0
    _last: dict[str | None, tuple[list[Segment], float | None]] = field(default_factory=dict)

    def add(self, segments: list[Segment], model: str | None, provider: str | None, cached: bool,
            timestamp: float | None) -> RequestBill:
        """Bill one request; ``cached``: the upstream caches this request's prefix."""
        total = sum(s.tokens for s in segments)
        previous = self._last.get(model)
        warm = previous is not None and not _expired(previous[1], timestamp)
        read = shared_tokens(previous[0], segments) if (cached and warm and previous is not None) else 0
        if read < MIN_CACHEABLE_TOKENS:
            read = 0
        price = price_for(model, provider)
        write = total - read if cached else 0
        uncached = 0 if cached else total
        usd = None if price is None else _usd(price, read, write, uncached)
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


def _usd(price: Price, read: int, write: int, uncached: int) -> float:
    return (read * price.cache_read + write * price.cache_write + uncached * price.input) / 1_000_000


def shared_count(previous: Iterable[Segment], current: list[Segment]) -> int:
    """How many leading segments ``current`` shares with ``previous``."""
    n = 0
    for a, b in zip(previous, current):
        if a.key != b.key:
            break
        n += 1
    return n


def shared_tokens(previous: list[Segment], current: list[Segment]) -> int:
    return sum(s.tokens for s in current[:shared_count(previous, current)])


def is_prefix(previous: list[Segment], current: list[Segment]) -> bool:
    """True when ``current`` starts with every segment of ``previous`` (the cached prefix survived)."""
    return len(previous) <= len(current) and shared_count(previous, current) == len(previous)
