"""Cache keys: what makes two requests the same question.

The exact key is a sha256 over a normalized form of everything that can change the answer: provider,
upstream, model, system prompt, tools, tool_choice, sampling parameters, thinking settings, any beta
flags, and the whole message list. Normalization removes only what cannot change the answer:
``cache_control`` markers (Claude Code moves them every turn), ``stream`` (a streamed and a plain
answer are the same answer), and ``metadata`` (a user/session label, not an input of the model).
Unknown fields stay in the key: an extra field costs a miss, never a wrong answer.

The semantic split takes the last user turn's question out of the request and hashes the rest, so the
semantic cache only compares questions asked in an identical context.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Mapping

import orjson

KEY_VERSION = 1
_NOT_IN_KEY = frozenset({"stream", "metadata"})
# OpenAI fields kept in ``extras`` that only shape delivery or label the caller.
_EXTRAS_NOT_IN_KEY = frozenset({"stream_options", "user", "metadata", "store", "safety_identifier",
                                "prompt_cache_key", "service_tier"})
_QUESTION = "\u0000lynkr-cache-question\u0000"


@dataclass(frozen=True)
class Target:
    """Where the request goes: the same question to another provider or upstream is another question."""

    provider: str
    upstream: str
    model: str | None
    variant: str = ""  # e.g. the anthropic-beta header, which switches model features on


def _unmarked(block: Any) -> Any:
    """A content block, system block or tool without its ``cache_control`` (one level of nesting for
    the blocks inside a tool result)."""
    if not isinstance(block, dict) or not block:
        return block
    if "cache_control" in block:
        block = {k: v for k, v in block.items() if k != "cache_control"}
    content = block.get("content")
    if isinstance(content, list) and any(isinstance(b, dict) and "cache_control" in b for b in content):
        block = {**block, "content": [_unmarked(b) for b in content]}
    return block


def _strip(key: str, value: Any) -> Any:
    """``cache_control`` markers sit on system blocks, tools and message content blocks."""
    if key in ("system", "tools") and isinstance(value, list):
        return [_unmarked(v) for v in value]
    if key == "messages" and isinstance(value, list):
        return [{**m, "content": [_unmarked(b) for b in m["content"]]}
                if isinstance(m, dict) and isinstance(m.get("content"), list) else m for m in value]
    return value


def _digest(material: Mapping[str, Any]) -> str:
    """sha256 of the material as JSON with sorted keys (orjson: ~0.1 ms for a Claude Code request)."""
    try:
        return hashlib.sha256(orjson.dumps(material, option=orjson.OPT_SORT_KEYS)).hexdigest()
    except TypeError:  # values orjson refuses (ints beyond 64 bits): the standard library below
        pass
    text = json.dumps(material, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _material(body: Mapping[str, Any], target: Target, extras: Mapping[str, Any] | None) -> dict[str, Any]:
    kept = {k: _strip(k, v) for k, v in body.items() if k not in _NOT_IN_KEY}
    kept["model"] = target.model
    return {"v": KEY_VERSION, "provider": target.provider, "upstream": target.upstream.rstrip("/"),
            "variant": target.variant, "body": kept,
            "extras": {k: v for k, v in (extras or {}).items() if k not in _EXTRAS_NOT_IN_KEY}}


def exact_key(body: Mapping[str, Any], target: Target, extras: Mapping[str, Any] | None = None) -> str:
    """The exact-cache key of a canonical request body (Anthropic Messages shape) and the inbound
    format's fields that have no canonical equivalent (``extras``: ``response_format``, ``n`` …)."""
    return _digest(_material(body, target, extras))


@dataclass(frozen=True)
class SemanticSplit:
    """A request cut into its context (hashed) and its last user question (compared by meaning)."""

    prefix_key: str
    question: str


def semantic_split(body: Mapping[str, Any], target: Target, extras: Mapping[str, Any] | None = None
                   ) -> SemanticSplit | str:
    """The split, or the reason the request cannot be answered by meaning.

    Only a last user turn made of text qualifies: a turn carrying tool results, images or documents is
    answered from what they contain, which a question's wording says nothing about. Trailing
    ``system`` messages (Claude Code adds some after the user turn) stay in the context.
    """
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "no messages"
    index = len(messages) - 1
    while index >= 0 and isinstance(messages[index], dict) and messages[index].get("role") == "system":
        index -= 1
    if index < 0 or not isinstance(messages[index], dict) or messages[index].get("role") != "user":
        return "last turn is not a user turn"
    content = messages[index].get("content")
    replaced: str | list[Any]
    if isinstance(content, str):
        question, replaced = content, _QUESTION
    elif isinstance(content, list) and content:
        kinds = {b.get("type") for b in content if isinstance(b, dict)}
        if "tool_result" in kinds:
            return "tool results in the last turn"
        if kinds != {"text"} or not all(isinstance(b, dict) for b in content):
            return "non-text content in the last turn"
        question = content[-1].get("text") or ""
        replaced = [*content[:-1], {**content[-1], "text": _QUESTION}]
    else:
        return "empty last turn"
    if not question.strip():
        return "empty question"
    new_messages = [*messages[:index], {**messages[index], "content": replaced}, *messages[index + 1 :]]
    material = _material({**body, "messages": new_messages, "system": _without_billing(body.get("system"))},
                         target, extras)
    material["semantic"] = True
    return SemanticSplit(prefix_key=_digest(material), question=question)


_BILLING_PREFIX = "x-anthropic-billing-header:"


def _without_billing(system: Any) -> Any:
    """Claude Code opens its system prompt with a billing header whose ``cc_version`` suffix changes
    with the user's prompt; it attributes usage and says nothing the answer depends on, so the
    semantic context leaves it out (the exact key keeps it: it is identical for identical prompts)."""
    if isinstance(system, list):
        return [b for b in system if not (isinstance(b, dict) and str(b.get("text", "")).startswith(_BILLING_PREFIX))]
    return system


def server_tools(body: Mapping[str, Any]) -> list[str]:
    """Server-side tools (web search, code execution …): their answers depend on the live world."""
    names = []
    for tool in body.get("tools") or []:
        if isinstance(tool, dict) and tool.get("type") and "input_schema" not in tool and tool.get("type") != "custom":
            names.append(str(tool.get("name") or tool.get("type")))
    return names
