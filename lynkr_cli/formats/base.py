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
    from lynkr_cli.errors import LynkrError
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

    def error_type(self, status: int) -> str:
        """This API's error type for an HTTP status (``rate_limit_error``, ``server_error`` …)."""
        ...

    def error(self, error: LynkrError) -> bytes:
        """lynkr's own error as this API shapes one, with the type the error's class names for it."""
        ...


class LineBuffer:
    """Splits a byte stream into lines as chunks arrive, in time linear in the bytes.

    A line may span many chunks (one 8 MB ``response.completed`` event arrives in 64 KB reads); its
    parts are kept in a list and joined once, when the newline that ends it arrives. Joining the
    buffer with every chunk and splitting it again copied and scanned the whole partial line per
    chunk: quadratic, measured at seconds of proxy CPU for one large answer.
    """

    __slots__ = ("_parts",)

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def feed(self, chunk: bytes) -> list[bytes]:
        """The lines ``chunk`` completes, without their ``\\n``."""
        if b"\n" not in chunk:
            if chunk:
                self._parts.append(chunk)
            return []
        if self._parts:
            self._parts.append(chunk)
            chunk = b"".join(self._parts)
        lines = chunk.split(b"\n")
        rest = lines.pop()
        self._parts = [rest] if rest else []
        return lines

    def rest(self) -> bytes:
        """What is left after the last newline (at the end of the stream), emptying the buffer."""
        rest = b"".join(self._parts)
        self._parts = []
        return rest


class SSEParser:
    """Incremental ``text/event-stream`` parser: yields ``(event name, data text)`` per complete event."""

    def __init__(self) -> None:
        self._lines = LineBuffer()
        self._event: str | None = None
        self._data: list[str] = []

    def feed(self, chunk: bytes) -> Iterator[tuple[str | None, str]]:
        for line in self._lines.feed(chunk):
            yield from self._line(line.rstrip(b"\r"))

    def finish(self) -> Iterator[tuple[str | None, str]]:
        rest = self._lines.rest()
        if rest:
            yield from self._line(rest.rstrip(b"\r"))
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


STREAM_CUT = "lynkr: the upstream stream ended before the response was complete"


def stream_cut_error() -> Event:
    return {"type": "error", "error": {"type": "api_error", "message": STREAM_CUT}}


class JsonEvents:
    """Parses each streamed event's JSON and counts those that are not JSON, so a stream that then
    ends incomplete says it was sent garbage (what a user debugging a local server needs to know)
    rather than only that it ended early."""

    _malformed = 0
    _first_malformed = ""

    def _json(self, text: str) -> Any:
        value = load_json(text)
        if value is None and text.strip() != "null":
            self._malformed += 1
            if self._malformed == 1:
                self._first_malformed = text.strip()[:60]
        return value

    def _cut_error(self) -> Event:
        """The error for a stream that ended before its last event."""
        if not self._malformed:
            return stream_cut_error()
        were = "was" if self._malformed == 1 else "were"
        note = f"; {self._malformed} of its events {were} not valid JSON (first: {self._first_malformed!r})"
        return {"type": "error", "error": {"type": "api_error", "message": STREAM_CUT + note}}


class SSEDecoder(JsonEvents):
    """Base of the SSE stream decoders: each complete event's data goes to ``_data``; a stream that
    ends before ``_done`` was set gets an error event (``_incomplete`` may end it properly instead)."""

    def __init__(self) -> None:
        self._sse = SSEParser()
        self._done = False

    def feed(self, chunk: bytes) -> list[Event]:
        events: list[Event] = []
        for _, data in self._sse.feed(chunk):
            self._data(data, events)
        return events

    def finish(self) -> list[Event]:
        events: list[Event] = []
        for _, data in self._sse.finish():
            self._data(data, events)
        if not self._done:
            self._incomplete(events)
        return events

    def _incomplete(self, events: list[Event]) -> None:
        events.append(self._cut_error())
        self._done = True

    def _data(self, data: str, events: list[Event]) -> None:
        raise NotImplementedError


class BlockTracker:
    """Content-block bookkeeping for upstreams that stream one kind at a time (text, thinking, tool)."""

    _index = -1
    _open: str | None = None

    def _open_block(self, kind: str, block: dict[str, Any], events: list[Event]) -> None:
        if self._open == kind:
            return
        self._close(events)
        self._index += 1
        self._open = kind
        events.append({"type": "content_block_start", "index": self._index, "content_block": block})

    def _close(self, events: list[Event]) -> None:
        if self._open is not None:
            events.append({"type": "content_block_stop", "index": self._index})
            self._open = None


def block_delta(index: int, delta: dict[str, Any]) -> Event:
    return {"type": "content_block_delta", "index": index, "delta": delta}


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
