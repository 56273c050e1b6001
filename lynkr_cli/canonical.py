"""The one request model everything between the inbound adapters and the providers works on.

Its shape is the Anthropic Messages API, the natural superset of the formats lynkr speaks: content
blocks for text, image, tool_use, tool_result and thinking; a system prompt; tools with full JSON
Schema. Inbound adapters (``formats/``) convert OpenAI Chat Completions and Responses requests into
it; provider adapters convert it into each upstream's wire format. Nothing in between (pipeline
stages, caches, router) knows which format a request arrived in.

A ``ModelRequest`` is immutable: a stage that changes something returns a new one via
``with_body``, which drops the original bytes. While ``raw`` is set, the request is exactly what the
client sent and is forwarded byte for byte when the upstream speaks the same format.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Mapping, TypedDict

ApiFormat = Literal["anthropic", "openai-chat", "openai-responses"]


class TextBlock(TypedDict, total=False):
    type: Literal["text"]
    text: str
    cache_control: dict[str, Any]


class ImageBlock(TypedDict, total=False):
    type: Literal["image"]
    source: dict[str, Any]  # {"type": "base64", "media_type": ..., "data": ...} or {"type": "url", "url": ...}


class ToolUseBlock(TypedDict, total=False):
    type: Literal["tool_use"]
    id: str
    name: str
    input: dict[str, Any]


class ToolResultBlock(TypedDict, total=False):
    type: Literal["tool_result"]
    tool_use_id: str
    content: str | list[dict[str, Any]]
    is_error: bool
    cache_control: dict[str, Any]


class ThinkingBlock(TypedDict, total=False):
    type: Literal["thinking", "redacted_thinking"]
    thinking: str
    signature: str
    data: str


class Message(TypedDict):
    role: Literal["user", "assistant"]
    content: str | list[dict[str, Any]]


class Tool(TypedDict, total=False):
    name: str
    description: str
    input_schema: dict[str, Any]
    type: str  # server tools ("web_search_20250305", …) carry a type and no schema


def canonical_json(body: Mapping[str, Any]) -> bytes:
    """Deterministic serialization: the same body always gives the same bytes (key order kept),
    which keeps the provider's prompt cache valid across turns."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True)
class ModelRequest:
    """One model call in canonical form.

    ``body``: an Anthropic Messages request body. Treat it as read-only; build a new dict to change it.
    ``inbound``: the wire format the client spoke (responses are translated back into it).
    ``raw``: the client's original bytes (in the ``inbound`` format), kept only while ``body`` is
    unchanged; a provider speaking the same format forwards them as they are.
    ``extras``: fields of the inbound format with no canonical equivalent, kept for the way back.
    """

    body: Mapping[str, Any]
    inbound: ApiFormat = "anthropic"
    raw: bytes | None = None
    extras: Mapping[str, Any] = field(default_factory=dict)

    @property
    def model(self) -> str | None:
        model = self.body.get("model")
        return model if isinstance(model, str) else None

    @property
    def stream(self) -> bool:
        return self.body.get("stream") is True

    @property
    def messages(self) -> list[Message]:
        return list(self.body.get("messages") or [])

    @property
    def tools(self) -> list[Tool]:
        return list(self.body.get("tools") or [])

    @property
    def system(self) -> str | list[dict[str, Any]] | None:
        return self.body.get("system")

    def with_body(self, body: Mapping[str, Any]) -> "ModelRequest":
        """A copy with a new body; the original bytes no longer describe it, so they are dropped."""
        if body is self.body:
            return self
        return replace(self, body=body, raw=None)

    def wire_bytes(self) -> bytes:
        """The bytes to send to an Anthropic-format upstream: the original ones when unchanged."""
        return self.raw if self.raw is not None and self.inbound == "anthropic" else canonical_json(self.body)
