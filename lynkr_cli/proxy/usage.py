"""Reading token usage out of upstream responses as they stream past, without holding them back.

The proxy forwards every byte as it arrives; these scanners only look at the bytes to pick up the
model and the ``usage`` figures the provider reports (``message_start`` and ``message_delta`` events
in an Anthropic stream, the ``usage`` object of a JSON body).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lynkr_cli.errors import anthropic_error_body
from lynkr_cli.formats.base import LineBuffer
from lynkr_cli.formats.jsonio import loads  # orjson: usage events and whole JSON answers, on every request

_MAX_JSON_BODY = 16 * 1024 * 1024  # bodies larger than this are relayed but not parsed for usage
_USAGE_EVENTS = (b"message_start", b"message_delta", b"error")


@dataclass
class Usage:
    """Token usage in the Anthropic convention: ``input_tokens`` excludes cache reads and writes."""

    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_read_tokens: int | None = None
    cache_write_tokens: int | None = None

    def update_from_anthropic(self, usage: Any) -> None:
        """Merge an Anthropic ``usage`` object; later events carry cumulative figures.

        Only whole numbers are taken: an upstream that sends ``"usage": 5`` or a count as a string
        must not break the relay or the cost computation (and so the request's ledger row)."""
        if not isinstance(usage, dict):
            return
        for key, attr in _USAGE_FIELDS:
            value = usage.get(key)
            if isinstance(value, int) and not isinstance(value, bool):
                setattr(self, attr, value)


_USAGE_FIELDS = (("input_tokens", "input_tokens"), ("output_tokens", "output_tokens"),
                 ("cache_read_input_tokens", "cache_read_tokens"),
                 ("cache_creation_input_tokens", "cache_write_tokens"))


class AnthropicResponseScanner:
    """Collects model, usage, stop reason and any error from an Anthropic response, SSE or JSON."""

    def __init__(self, streaming: bool = False) -> None:
        self.streaming = streaming
        self.usage = Usage()
        self.model: str | None = None
        self.stop_reason: str | None = None
        self.error: str | None = None
        self.stopped = False  # the answer's final event (message_stop) went by
        self._lines = LineBuffer()  # linear in the bytes even when one event spans many chunks
        self._event: bytes | None = None
        self._body: list[bytes] = []
        self._body_size = 0

    def begin(self, status: int, content_type: str | None, headers: list[tuple[bytes, bytes]] | None = None) -> None:
        """Called with the response head: errors come back as JSON even for stream requests."""
        self.streaming = (content_type or "").startswith("text/event-stream")

    @property
    def message(self) -> dict[str, Any] | None:
        """Never kept: this scanner serves pass-through without the cache (``proxy/answers.py``)."""
        return None

    def broken_tail(self, message: str) -> bytes:
        """An Anthropic ``error`` event: the client has a 200 and part of a stream."""
        return b"event: error\ndata: " + anthropic_error_body(f"lynkr: {message}", "api_error") + b"\n\n"

    def feed(self, chunk: bytes) -> None:
        if self.streaming:
            self._feed_sse(chunk)
        elif self._body_size <= _MAX_JSON_BODY:
            self._body.append(chunk)
            self._body_size += len(chunk)

    def finish(self) -> None:
        """Call once the body has ended; parses a buffered JSON body."""
        if self.streaming or not self._body or self._body_size > _MAX_JSON_BODY:
            return
        try:
            body = loads(b"".join(self._body))
        except ValueError:
            return
        self._body = []
        if isinstance(body, dict):
            self._on_message(body)

    # -- internals -------------------------------------------------------------------------------
    def _feed_sse(self, chunk: bytes) -> None:
        for line in self._lines.feed(chunk):
            if line.startswith(b"event:"):
                self._event = line[6:].strip()
            elif line.startswith(b"data:"):
                if self._event in _USAGE_EVENTS or (self._event is None and b'"message_' in line):
                    self._on_sse_data(line[5:])
                elif self._event == b"message_stop":
                    self.stopped = True
            elif not line.strip():
                self._event = None

    def _on_sse_data(self, raw: bytes) -> None:
        try:
            event = loads(raw)
        except ValueError:
            return
        if not isinstance(event, dict):
            return
        kind = event.get("type")
        if kind == "message_start":
            self._on_message(event.get("message") or {})
        elif kind == "message_delta":
            self.usage.update_from_anthropic(event.get("usage"))
            delta = event.get("delta")
            if isinstance(delta, dict):
                self.stop_reason = _text(delta.get("stop_reason")) or self.stop_reason
        elif kind == "error":
            self.error = _error_message(event)

    def _on_message(self, message: Any) -> None:
        if not isinstance(message, dict):  # the bytes are relayed as sent; only nothing is learnt
            return
        if message.get("type") == "error":
            self.error = _error_message(message)
            return
        self.model = _text(message.get("model")) or self.model
        self.stop_reason = _text(message.get("stop_reason")) or self.stop_reason
        self.usage.update_from_anthropic(message.get("usage"))


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _error_message(event: dict[str, Any]) -> str:
    error = event.get("error")
    if not isinstance(error, dict):
        error = {"message": str(error)} if error else {}
    return f"{error.get('type', 'error')}: {error.get('message', '')}".strip()
