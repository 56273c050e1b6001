"""Cutting a request into the segments a provider's prompt cache sees, each counted once.

A request is read in the order the provider reads it: tools, system, then each message block (for
the Responses format: instructions, tools, then each input item; for Chat Completions: tools, then
each message). Each segment carries its o200k token
count, a content key (without ``cache_control``: a marker is not part of the cached bytes) and its
kind (``kinds.py``: what the input is made of). Counting is memoized per object and per content: the
history a session resends every turn is the same objects, cut and counted once.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import partial
from itertools import compress, count
from operator import is_not
from typing import Any, Callable, Mapping

import orjson

from lynkr_cli.replay import kinds

SYSTEM, CALLS, ASSISTANT, USER = "system prompt and tools", "tool calls", "assistant text and thinking", "user text"
# The agent's own tools and system prompt are the same bytes in every session of a version: their
# counts are kept for the process (by content key), not per session.
SHARED_TAGS = frozenset({"tool", "system", "instructions"})
SHARED_MAX = 4096
_shared: dict[bytes, int] = {}

@dataclass(frozen=True)
class Segment:
    key: bytes
    tokens: int
    kind: str = ""


class SegmentCounter:
    """Segments of wire bodies, with their token counts memoized per object and per content."""

    def __init__(self) -> None:
        self._by_id: dict[int, tuple[Any, Segment]] = {}
        self._by_parts: dict[tuple[Any, ...], tuple[Any, Segment]] = {}
        self._messages: dict[int, tuple[Any, list[Segment]]] = {}
        self._by_key: dict[bytes, int] = {}
        self._calls: dict[str, str] = {}  # tool call id -> the kind of its result
        # Per side (direct, lynkr): the last request's head and messages, to reuse the part of the
        # segment list that comes from the very same objects (a session's history, resent each turn).
        self._heads: dict[str, tuple[Any, Any, list[Segment]]] = {}
        self._previous: dict[str, tuple[list[Any], list[int], list[Segment]]] = {}

    def segments(self, body: Mapping[str, Any], wire: str, side: str = "") -> list[Segment]:
        if wire == "openai-responses":
            return self._responses(body, side)
        if wire == "openai-chat":
            return self._chat(body, side)
        return self._anthropic(body, side)

    def _anthropic(self, body: Mapping[str, Any], side: str) -> list[Segment]:
        tools, system = body.get("tools"), body.get("system")
        head = self._heads.get(side)
        if head is None or head[0] is not tools or head[1] is not system:
            out = [self._segment("tool", tool, _count_tool, SYSTEM) for tool in tools or []]
            if isinstance(system, str):
                out.append(self._text("system", system, SYSTEM))
            elif isinstance(system, list):
                out.extend(self._segment("system", block, _count_block, SYSTEM) for block in system)
            head = self._heads[side] = (tools, system, out)
        return head[2] + self._sequence(side, body.get("messages") or [], self._message)

    def _sequence(self, side: str, items: list[Any], cut: Callable[[Any], list[Segment]]) -> list[Segment]:
        """The segments of ``items``, reusing the last call's for the leading items that are the same
        objects (checked by identity: cheap, and exact)."""
        previous_items, bounds, previous = self._previous.get(side, ([], [0], []))
        # The first item that is not the very object of the last call (one pass in C).
        same = next(compress(count(), map(is_not, items, previous_items)), min(len(items), len(previous_items)))
        out = previous[:bounds[same]]
        bounds = bounds[:same + 1]
        for item in items[same:]:
            out.extend(cut(item))
            bounds.append(len(out))
        self._previous[side] = (list(items), bounds, out)
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
        segments: list[Segment] = []
        if isinstance(content, list):
            for position, block in enumerate(content):
                tag = f"{role}:first" if position == 0 else role
                segments.append(self._segment(tag, block, _count_block, partial(self._block_kind, role, block)))
        self._messages[id(message)] = (message, segments)
        return segments

    def _responses(self, body: Mapping[str, Any], side: str) -> list[Segment]:
        out = []
        if isinstance(body.get("instructions"), str):
            out.append(self._text("instructions", body["instructions"], SYSTEM))
        out.extend(self._segment("tool", tool, _count_tool, SYSTEM) for tool in body.get("tools") or [])
        items = body.get("input")
        if isinstance(items, str):
            return out + [self._text("input", items, USER)]
        return out + self._sequence(side, items or [], self._item)

    def _chat(self, body: Mapping[str, Any], side: str) -> list[Segment]:
        """OpenAI Chat Completions: tools, then one segment per message (a message is the unit there)."""
        out = [self._segment("tool", tool, _count_tool, SYSTEM) for tool in body.get("tools") or []]
        return out + self._sequence(side, body.get("messages") or [], self._chat_message)

    def _chat_message(self, message: Any) -> list[Segment]:
        return [self._segment("chat", message, _count_chat, lambda: self._chat_kind(message))]

    def _chat_kind(self, message: Any) -> str:
        role = message.get("role") if isinstance(message, dict) else None
        if role == "tool":
            call = self._calls.get(str(message.get("tool_call_id")), kinds.OTHER)
            return kinds.result_kind(call, _text_of(message.get("content")))
        calls = message.get("tool_calls") if isinstance(message, dict) else None
        if calls:
            for call in calls:
                function = call.get("function") or {}
                arguments = function.get("arguments")
                try:
                    arguments = json.loads(arguments) if isinstance(arguments, str) else arguments
                except ValueError:
                    pass
                self._calls[str(call.get("id"))] = kinds.call_kind(str(function.get("name", "")), arguments)
            return CALLS
        return SYSTEM if role in ("system", "developer") else ASSISTANT if role == "assistant" else USER

    def _item(self, item: Any) -> list[Segment]:
        return [self._segment("item", item, _count_item, lambda: self._item_kind(item))]

    def _block_kind(self, role: str, block: Any) -> str:
        kind = block.get("type") if isinstance(block, dict) else None
        if kind == "tool_use":
            self._calls[str(block.get("id"))] = kinds.call_kind(str(block.get("name", "")), block.get("input"))
            return CALLS
        if kind == "tool_result":
            call = self._calls.get(str(block.get("tool_use_id")), kinds.OTHER)
            return kinds.result_kind(call, _text_of(block.get("content")))
        if role == "system":
            return SYSTEM
        return ASSISTANT if role == "assistant" else USER

    def _item_kind(self, item: Any) -> str:
        kind = item.get("type", "message") if isinstance(item, dict) else None
        if kind in ("function_call", "custom_tool_call", "local_shell_call"):
            arguments = item.get("arguments", item.get("input", item.get("action")))
            if isinstance(arguments, str):
                try:
                    arguments = json.loads(arguments)
                except ValueError:
                    pass
            self._calls[str(item.get("call_id"))] = kinds.call_kind(str(item.get("name", "shell")), arguments)
            return CALLS
        if kind in ("function_call_output", "custom_tool_call_output", "local_shell_call_output"):
            call = self._calls.get(str(item.get("call_id")), kinds.OTHER)
            return kinds.result_kind(call, _text_of(item.get("output")))
        if kind == "message":
            role = item.get("role")
            return SYSTEM if role in ("developer", "system") else ASSISTANT if role == "assistant" else USER
        return ASSISTANT if kind == "reasoning" else kinds.OTHER

    def _text(self, tag: str, text: str, kind: str) -> Segment:
        from lynkr_cli.tokens import count_text

        key = hashlib.blake2b(f"{tag}\x00{text}".encode(), digest_size=16).digest()
        tokens = self._by_key.get(key)
        if tokens is None:
            tokens = self._by_key[key] = _shared_count(tag, key, lambda: count_text(text))
        return Segment(key, tokens, kind)

    def _segment(self, tag: str, value: Any, count: Callable[[Any], int], kind: str | Callable[[], str]) -> Segment:
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
            tokens = self._by_key[key] = _shared_count(tag, key, lambda: count(plain))
        segment = Segment(key, tokens, kind if isinstance(kind, str) else kind())
        self._by_id[id(value)] = (value, segment)  # keeps ``value`` alive, so its id stays its own
        if parts is not None:
            self._by_parts[parts] = (list(value.values()), segment)  # keeps the values (and their ids) alive
        return segment


def _shared_count(tag: str, key: bytes, count: Callable[[], int]) -> int:
    if tag not in SHARED_TAGS:
        return count()
    found = _shared.get(key)
    if found is None:
        if len(_shared) >= SHARED_MAX:
            _shared.clear()
        found = _shared[key] = count()
    return found


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


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
    """Tokens of one content block (what ``tokens.count_content`` counts); an image counts as
    ``IMAGE_TOKENS`` (not its base64 text). Texts go through ``pipeline.counting``: the stages have
    usually counted them already (their tokens before and after)."""
    from lynkr_cli.pipeline.counting import count_text
    from lynkr_cli.tokens import count_content

    if isinstance(block, dict):
        kind = block.get("type")
        if kind == "image":
            return IMAGE_TOKENS
        content = block.get("content")
        if kind == "tool_result":
            if isinstance(content, list):
                return sum(_count_block(part) for part in content)
            if isinstance(content, str):
                return count_text(content)
        if kind == "text" and isinstance(block.get("text"), str):
            return count_text(block["text"])
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
        from lynkr_cli.pipeline.counting import count_text as counted

        output = item.get("output")
        if isinstance(output, str):
            return counted(output)
        return sum(_count_part(p) for p in output) if isinstance(output, list) else count_json(output)
    if kind == "reasoning":
        return sum(count_text(str(s.get("text", ""))) for s in item.get("summary") or [] if isinstance(s, dict))
    return count_json(item)


def _count_chat(message: Any) -> int:
    """Tokens of one Chat Completions message: its text, and its tool calls' names and arguments."""
    from lynkr_cli.tokens import count_text

    if not isinstance(message, dict):
        return 0
    content = message.get("content")
    tokens = count_text(content) if isinstance(content, str) else sum(_count_part(p) for p in content or [])
    for call in message.get("tool_calls") or []:
        function = call.get("function") or {}
        tokens += count_text(str(function.get("name", ""))) + count_text(str(function.get("arguments", "")))
    return tokens


def _count_part(part: Any) -> int:
    from lynkr_cli.pipeline.counting import count_text
    from lynkr_cli.tokens import count_json

    if isinstance(part, dict) and "text" in part:
        return count_text(str(part["text"]))
    if isinstance(part, dict) and part.get("type") == "input_image":
        return IMAGE_TOKENS
    return count_json(part)


