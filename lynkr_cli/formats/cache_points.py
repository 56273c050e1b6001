"""Prompt-cache breakpoints for requests translated into Anthropic's format.

Claude Code marks its own prompt for caching; an OpenAI-format client (Codex, Cursor, an SDK) has no
such markers, because OpenAI caches prefixes automatically. Sent to Anthropic, Bedrock or Azure
Anthropic as they are, such requests are billed at the full input price on every turn: the whole
conversation again, each time. ``with_breakpoints`` adds what a native client adds, at most four
``cache_control`` markers (Anthropic's limit): the last tool, the end of the system prompt, the end of
the conversation, and the end of the turn before it (the previous request's end in a tool loop, so the
cache is found even when a turn adds more than the 20 blocks Anthropic looks back over).

The markers do not change the cached content (Anthropic caches the prefix up to a marker, the marker
itself is not part of it), and they go on the same positions for the same conversation, so the
prefix written on one turn is the prefix read on the next. A request that already carries a marker
is left as its client made it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

BREAKPOINT = {"type": "ephemeral"}


def has_breakpoint(body: Mapping[str, Any]) -> bool:
    """Does any tool, system block or message block carry ``cache_control``? (Newest first: that is
    where a client's own marker usually is, so the common answer is found at once.)"""
    for message in reversed(body.get("messages") or []):
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list) and any(isinstance(b, dict) and "cache_control" in b for b in content):
            return True
    system = body.get("system")
    parts = list(body.get("tools") or []) + (system if isinstance(system, list) else [])
    return any(isinstance(p, dict) and "cache_control" in p for p in parts)


def _marked(block: Any) -> Any:
    return {**block, "cache_control": BREAKPOINT} if isinstance(block, Mapping) else block


def _mark_message(message: Mapping[str, Any]) -> dict[str, Any]:
    content = message.get("content")
    if isinstance(content, str):
        content = [{"type": "text", "text": content}] if content else []
    if not isinstance(content, list) or not content or not isinstance(content[-1], Mapping):
        return dict(message)
    if content[-1].get("type") in ("thinking", "redacted_thinking"):
        return dict(message)  # Anthropic refuses cache_control on thinking blocks
    return {**message, "content": [*content[:-1], _marked(content[-1])]}


def with_breakpoints(body: Mapping[str, Any]) -> dict[str, Any]:
    """``body`` (an Anthropic Messages body) with cache breakpoints, unless it has some already."""
    if has_breakpoint(body):
        return dict(body)
    out = dict(body)
    tools = body.get("tools")
    if isinstance(tools, list) and tools and isinstance(tools[-1], Mapping) and not tools[-1].get("type"):
        out["tools"] = [*tools[:-1], _marked(tools[-1])]
    system = body.get("system")
    if isinstance(system, str) and system:
        out["system"] = [{"type": "text", "text": system, "cache_control": BREAKPOINT}]
    elif isinstance(system, list) and system:
        out["system"] = [*system[:-1], _marked(system[-1])]
    messages = list(body.get("messages") or [])
    for index in (len(messages) - 1, len(messages) - 3):
        if index >= 0 and isinstance(messages[index], Mapping):
            messages[index] = _mark_message(messages[index])
    out["messages"] = messages
    return out
