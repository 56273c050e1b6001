"""A stored answer as a new message: fresh id, the model asked for, and usage showing nothing billed.

The request flow renders it in the client's own format (Anthropic or OpenAI, JSON or a full event
stream) exactly like an upstream answer, so SDKs and agents parse a hit as they parse any reply.
"""

from __future__ import annotations

import secrets
from typing import Any

ZERO_USAGE = {"input_tokens": 0, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, "output_tokens": 0}
_STORABLE_STOPS = frozenset({"end_turn", "tool_use", "stop_sequence", "max_tokens"})
_STORABLE_BLOCKS = frozenset({"text", "tool_use", "thinking", "redacted_thinking"})


def hit_message(stored: dict[str, Any], model: str | None) -> dict[str, Any]:
    return {
        "id": "msg_lynkr_" + secrets.token_hex(12),
        "type": "message",
        "role": "assistant",
        "model": model or stored.get("model"),
        "content": stored.get("content") or [],
        "stop_reason": stored.get("stop_reason"),
        "stop_sequence": stored.get("stop_sequence"),
        "usage": dict(ZERO_USAGE),
    }


def storable(message: Any) -> bool:
    """True for a finished, ordinary answer the cache can replay exactly (no server-tool results,
    no refusals or paused turns, which depend on more than the request)."""
    if not isinstance(message, dict) or message.get("stop_reason") not in _STORABLE_STOPS:
        return False
    content = message.get("content")
    return isinstance(content, list) and all(
        isinstance(b, dict) and b.get("type") in _STORABLE_BLOCKS for b in content
    )
