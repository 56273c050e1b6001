"""The Anthropic Messages format: the canonical shape itself, so translation is identity.

Requests that arrive as Anthropic and leave unchanged are sent as the client's original bytes.
"""

from __future__ import annotations

from typing import Any

from lynkr_cli.canonical import ModelRequest
from lynkr_cli.errors import LynkrError, anthropic_error_body
from lynkr_cli.formats.cache_points import with_breakpoints
from lynkr_cli.formats.jsonio import dumps
from lynkr_cli.formats.base import Event, SSEDecoder, sse_event
from lynkr_cli.formats.errors import anthropic_type

# Anthropic requires max_tokens; requests translated from OpenAI formats may not carry one.
DEFAULT_MAX_TOKENS = 8192
# Fields sent when a request from another format goes to Anthropic. Not ``thinking``: Anthropic requires
# the signed thinking blocks back in a tool loop, which an OpenAI client cannot return.
_KEYS = ("model", "messages", "system", "max_tokens", "metadata", "stop_sequences", "stream", "temperature",
         "top_p", "top_k", "tools", "tool_choice")


class AnthropicDecoder(SSEDecoder):
    """Anthropic SSE bytes -> events (already canonical: only parsed)."""

    def _data(self, data: str, events: list[Event]) -> None:
        event = self._json(data)
        if not isinstance(event, dict) or event.get("type") == "ping":
            return
        if event.get("type") in ("message_stop", "error"):
            self._done = True
        events.append(event)


class AnthropicEncoder:
    media_type = "text/event-stream"

    def encode(self, event: Event) -> bytes:
        return sse_event(event.get("type"), event)


class AnthropicCodec:
    name = "anthropic"
    stream_media_type = "text/event-stream"

    def decode_request(self, payload: dict[str, Any], raw: bytes) -> ModelRequest:
        return ModelRequest(body=payload, inbound="anthropic", raw=raw)

    def encode_request(self, request: ModelRequest, model: str) -> bytes:
        if request.inbound == "anthropic":
            if request.raw is not None and model == request.model:
                return request.raw  # unchanged: the client's own bytes, prompt cache intact
            return dumps({**request.body, "model": model})
        body: dict[str, Any] = {k: request.body[k] for k in _KEYS if k in request.body}
        body["model"] = model
        body.setdefault("max_tokens", DEFAULT_MAX_TOKENS)
        body["messages"] = [_without_foreign_thinking(m) for m in body.get("messages", [])]
        return dumps(with_breakpoints(body))  # cached as a native client's would be (formats/cache_points.py)

    def decode_message(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise ValueError(f"an Anthropic message is a JSON object, not {type(body).__name__}")
        return body

    def encode_message(self, message: dict[str, Any], request: ModelRequest) -> dict[str, Any]:
        return message

    def stream_decoder(self) -> AnthropicDecoder:
        return AnthropicDecoder()

    def stream_encoder(self, request: ModelRequest) -> AnthropicEncoder:
        return AnthropicEncoder()

    def error_body(self, message: str, error_type: str) -> bytes:
        return anthropic_error_body(message, error_type)

    def error_type(self, status: int) -> str:
        return anthropic_type(status)

    def error(self, error: LynkrError) -> bytes:
        return anthropic_error_body(f"lynkr: {error}", error.anthropic_type)


def _without_foreign_thinking(message: dict[str, Any]) -> dict[str, Any]:
    """Thinking that came from another provider carries no Anthropic signature and would be refused."""
    content = message.get("content")
    if not isinstance(content, list) or not any(b.get("type") in ("thinking", "redacted_thinking") for b in content):
        return message
    kept = [b for b in content if b.get("type") not in ("thinking", "redacted_thinking")]
    return {**message, "content": kept or [{"type": "text", "text": ""}]}
