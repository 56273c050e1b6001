"""What every wire format implements, and the incremental SSE parser they share.

The canonical *response* stream is the Anthropic Messages event sequence, as dicts: ``message_start``,
``content_block_start``/``_delta``/``_stop``, ``message_delta``, ``message_stop``, ``error``. A
``StreamDecoder`` turns an upstream's bytes into those events as they arrive; a ``StreamEncoder``
turns each event into the client's bytes at once. Neither holds back a complete event.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any, Iterator, Protocol

if TYPE_CHECKING:
    from lynkr_cli.canonical import ModelRequest

Event = dict[str, Any]


class StreamDecoder(Protocol):
    def feed(self, chunk: bytes) -> list[Event]:
        """Canonical events completed by ``chunk``."""
        ...

    def finish(self) -> list[Event]:
        """Events still due at the end of the body; an ``error`` event if the stream ended early."""
        ...


class StreamEncoder(Protocol):
    media_type: str

    def encode(self, event: Event) -> bytes:
        """The client-format bytes for one canonical event (may be empty)."""
        ...


class Codec(Protocol):
    """One wire format, both directions. Inbound-only methods raise for upstream-only formats."""

    name: str
    stream_media_type: str

    def decode_request(self, payload: dict[str, Any], raw: bytes) -> ModelRequest: ...
    def encode_request(self, request: ModelRequest, model: str) -> bytes: ...
    def decode_message(self, body: Any) -> dict[str, Any]: ...
    def encode_message(self, message: dict[str, Any], request: ModelRequest) -> dict[str, Any]: ...
    def stream_decoder(self) -> StreamDecoder: ...
    def stream_encoder(self, request: ModelRequest) -> StreamEncoder: ...
    def error_body(self, message: str, error_type: str) -> bytes: ...


class SSEParser:
    """Incremental ``text/event-stream`` parser: yields ``(event name, data text)`` per complete event."""

    def __init__(self) -> None:
        self._buffer = b""
        self._event: str | None = None
        self._data: list[str] = []

    def feed(self, chunk: bytes) -> Iterator[tuple[str | None, str]]:
        data = self._buffer + chunk if self._buffer else chunk
        lines = data.split(b"\n")
        self._buffer = lines.pop()
        for line in lines:
            yield from self._line(line.rstrip(b"\r"))

    def finish(self) -> Iterator[tuple[str | None, str]]:
        if self._buffer:
            yield from self._line(self._buffer.rstrip(b"\r"))
            self._buffer = b""
        yield from self._line(b"")

    def _line(self, line: bytes) -> Iterator[tuple[str | None, str]]:
        if not line:
            if self._data:
                yield self._event, "\n".join(self._data)
            self._event, self._data = None, []
        elif line.startswith(b"data:"):
            self._data.append(line[5:].decode("utf-8", "replace").removeprefix(" "))
        elif line.startswith(b"event:"):
            self._event = line[6:].decode("utf-8", "replace").strip()


def sse_event(name: str | None, data: Any) -> bytes:
    """One SSE event; ``data`` is serialized compactly (the upstream's own style)."""
    from lynkr_cli.formats.jsonio import dumps

    payload = data.encode() if isinstance(data, str) else dumps(data)
    head = f"event: {name}\n".encode() if name else b""
    return head + b"data: " + payload + b"\n\n"


def load_json(text: str | bytes) -> Any:
    from lynkr_cli.formats.jsonio import loads

    try:
        return loads(text)
    except ValueError:
        return None


def new_id(prefix: str) -> str:
    return f"{prefix}{secrets.token_hex(12)}"


def parse_arguments(arguments: Any) -> dict[str, Any]:
    """A tool call's arguments (a JSON string in OpenAI formats) as the object Anthropic expects."""
    if isinstance(arguments, dict):
        return arguments
    if not arguments:
        return {}
    value = load_json(arguments)
    return value if isinstance(value, dict) else {"arguments": arguments}


def text_of(content: Any) -> str:
    """The text in a content value (a string or a list of text-bearing blocks)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(b.get("text", "") for b in content if isinstance(b, dict) and isinstance(b.get("text"), str))
    return ""


STOP_FROM_OPENAI = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use",
                    "function_call": "tool_use", "content_filter": "refusal"}
STOP_TO_OPENAI = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "tool_use": "tool_calls",
                  "refusal": "content_filter", "pause_turn": "stop", "model_context_window_exceeded": "length"}
