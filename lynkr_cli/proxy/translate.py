"""Turning an upstream's answer into the client's format while it streams through the relay.

A ``ResponseTranslator`` sits where the pass-through relay forwards bytes unchanged: each chunk from
the upstream is decoded into canonical events and each event is encoded for the client at once, so a
streamed answer is never held back. A JSON answer (one object) is translated when complete. It also
plays the relay's scanner: model, usage and error are read from the canonical events.

Upstream errors (a JSON error of any provider, an HTML page, plain text) become an error in the
client's own format with the upstream's status (502 when a 2xx carried no API response).
"""

from __future__ import annotations

import logging
import zlib
from typing import TYPE_CHECKING, Any

from lynkr_cli.formats import codec
from lynkr_cli.formats.base import STREAM_CUT
from lynkr_cli.formats.events import MessageBuilder, message_events
from lynkr_cli.formats.jsonio import dumps, loads
from lynkr_cli.formats.errors import error_detail
from lynkr_cli.proxy.usage import Usage

if TYPE_CHECKING:
    from lynkr_cli.canonical import ModelRequest
    from lynkr_cli.formats.base import Event
    from lynkr_cli.providers.base import HttpProvider, WireFormat

log = logging.getLogger("lynkr.proxy")

_MAX_BUFFER = 32 * 1024 * 1024
# The SDKs decide whether and when to retry from the first three.
_KEEP_HEADERS = ("retry-after", "retry-after-ms", "x-should-retry", "request-id", "x-request-id",
                 "openai-processing-ms")
_STREAM_TYPES = ("text/event-stream", "application/x-ndjson", "application/ndjson", "application/jsonl",
                 "application/vnd.amazon.eventstream")  # Bedrock ConverseStream


class ResponseTranslator:
    """Upstream answer in ``wire`` format -> client answer in ``request.inbound`` format."""

    def __init__(
        self,
        provider: HttpProvider,
        wire: WireFormat,
        request: ModelRequest,
        keep_message: bool = False,
        scan_only: bool = False,
        model: str | None = None,
    ):
        """``scan_only``: the bytes pass through unchanged elsewhere; only read model, usage, errors
        and the message from them (for a same-format answer in an OpenAI format, or the cache).
        ``model``: the model asked for, shown to the client when the answer names none (Bedrock)."""
        self.scan_only = scan_only
        self.rerouted: str | None = None  # set by the relay: the model lynkr chose instead of the client's
        self.provider = provider
        self.wire = wire
        self.request = request
        self.client = codec(request.inbound)
        self.client_stream = request.stream
        self.keep_message = keep_message or scan_only or not request.stream
        self.usage = Usage()
        self.model: str | None = None
        self._asked_model = model or None
        self.stop_reason: str | None = None
        self.error: str | None = None
        self.streaming = False  # the relay's scanner flag: the client is getting a stream
        self.builder = MessageBuilder() if self.keep_message else None
        self._mode = "json"
        self._status = 200
        self._content_type: str | None = None
        self._headers: list[tuple[bytes, bytes]] = []
        self._buffer: list[bytes] = []
        self._size = 0
        self._decoder: Any = None
        self._encoder: Any = None
        self._ended = False
        self._error_detail: str | None = None
        self._unreadable = False  # an upstream event could not be decoded: the rest is ignored
        self._inflate: Any = None  # a gzip/deflate answer from an upstream that ignored "identity"
        self._corrupt: str | None = None
        self.stopped = False  # the answer's final event (message_stop) went by

    # -- the relay's side -------------------------------------------------------------------------
    def begin(self, status: int, content_type: str | None, headers: list[tuple[bytes, bytes]] | None = None) -> None:
        self._status = status
        self._content_type = content_type
        self._headers = [(k, v) for k, v in headers or [] if k.decode().lower() in _KEEP_HEADERS]
        self._inflate = inflater(headers or [])
        kind = (content_type or "").split(";")[0].strip().lower()
        if status >= 300:
            self._mode = "error"
        elif kind in _STREAM_TYPES or (self.wire == "ollama" and self.request.stream and kind != "application/json"):
            self._mode = "stream"
            self.streaming = self.client_stream
            self._decoder = self.provider.stream_decoder(self.wire)
            if self.client_stream and not self.scan_only:
                self._encoder = self.client.stream_encoder(self.request)
        elif kind.endswith("json"):
            self._mode = "json"
        else:
            self._mode = "error"  # an HTML page or text where an API answer belongs

    def head(self) -> tuple[int, list[tuple[bytes, bytes]]] | None:
        """Status and headers to send now, or None when they depend on the whole body."""
        if self._mode == "stream" and self.client_stream:
            return 200, [(b"content-type", self._encoder.media_type.encode()), (b"cache-control", b"no-cache"),
                         *self._headers]
        return None

    def feed(self, chunk: bytes) -> None:
        """Scanner interface: read ``chunk`` (the bytes went to the client untouched)."""
        self.translate(chunk)

    def translate(self, chunk: bytes) -> bytes:
        """The client's bytes for ``chunk`` (b"" until a JSON answer is complete)."""
        if self._inflate is not None:
            plain = self._inflated(chunk)
            if plain is None:
                return self._cannot_read(ValueError(self._corrupt)) if self._mode == "stream" else b""
            chunk = plain
        elif self._corrupt:
            return b""
        if self._mode != "stream":
            if self._size <= _MAX_BUFFER:
                self._buffer.append(chunk)
                self._size += len(chunk)
            return b""
        if self._unreadable:
            return b""
        try:
            return self._emit(self._decoder.feed(chunk))
        except Exception as exc:  # an event of a shape the decoder does not expect (see _cannot_read)
            return self._cannot_read(exc)

    def end(self, broken: str | None = None) -> bytes:
        """The rest of the client's body once the upstream's has ended (or ``broken`` said why not)."""
        head = b""
        if self._inflate is not None:
            rest = self._inflated(None)
            self._inflate = None
            if rest:
                head = self.translate(rest)
            elif rest is None and self._mode == "stream":
                head = self._cannot_read(ValueError(self._corrupt))
        return head + self._end(broken)

    def _end(self, broken: str | None) -> bytes:
        self._ended = True
        if self._mode == "stream":
            out = b""
            if not self._unreadable:
                try:
                    events = self._decoder.finish()
                    if broken:  # the decoder only knows the stream stopped; the relay knows why (a timeout …)
                        events = [_broken_event(broken) if _is_stream_cut(e) else e for e in events]
                    out = self._emit(events)
                except Exception as exc:
                    out = self._cannot_read(exc)
            if self.client_stream or self.scan_only:
                return out
            return self._final_json()
        if self._mode == "error" or broken or self._corrupt:
            return self._error_body(broken or self._corrupt)
        if self._size > _MAX_BUFFER:
            if self.scan_only:  # the bytes went to the client untouched; only usage is unknown
                return b""
            return self._error_body(f"its answer is over {_MAX_BUFFER >> 20} MB, more than lynkr translates "
                                    "(a streamed request has no such limit)")
        try:
            upstream = loads(b"".join(self._buffer))
        except ValueError:
            self._mode = "error"
            return self._error_body("the upstream's JSON answer could not be parsed")
        failure = _error_in_answer(upstream)
        if failure is not None:  # some servers (OpenRouter, gateways) put a failure in a 200 answer
            return self._error_body(f"it answered HTTP 200 with an error: {failure}")
        try:
            message = self.provider.decode_message(self.wire, upstream)
            if not message.get("model") and self._asked_model:
                message["model"] = self._asked_model
            if self.client_stream and not self.scan_only:
                self._encoder = self.client.stream_encoder(self.request)
                return self._emit(message_events(message))
            self._observe_message(message)
            if self.builder is not None:
                self.builder.message, self.builder.complete = message, True
            return dumps(self.client.encode_message(message, self.request))
        except Exception as exc:  # valid JSON of another shape ("choices": 5, "content": [5] …)
            log.debug("upstream answer could not be read", exc_info=True)
            if self.builder is not None:
                self.builder.complete = False
            return self._error_body(f"its {self.wire} answer has a shape lynkr cannot read "
                                    f"({type(exc).__name__}: {exc})")

    def final_head(self) -> tuple[int, list[tuple[bytes, bytes]]]:
        """Status and headers once ``end`` has run (for answers whose ``head`` was deferred)."""
        if self._mode == "error":
            status = self._status if self._status >= 400 else 502
            return status, [(b"content-type", b"application/json"), *self._headers]
        if self.client_stream:
            return 200, [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache"), *self._headers]
        return 200, [(b"content-type", b"application/json"), *self._headers]

    def finish(self) -> None:
        """Scanner interface: a scan-only translator reads the end of the body here."""
        if self.scan_only and not self._ended:
            self.end()

    @property
    def gave_up(self) -> bool:
        """The client's stream was ended with an error event (an upstream event or compressed bytes
        lynkr could not read): nothing the upstream sends after that can reach the client."""
        return self._unreadable and self._mode == "stream"

    def broken_tail(self, message: str) -> bytes:
        """For a pass-through stream that broke: an error event in the client's format."""
        if not self.client_stream:
            return b""
        encoder = self._encoder or self.client.stream_encoder(self.request)
        return encoder.encode({"type": "error", "error": {"type": "api_error", "message": f"lynkr: {message}"}})

    @property
    def message(self) -> dict[str, Any] | None:
        """The complete canonical answer, when it was kept (non-streaming clients, the cache)."""
        if self.builder is not None and self.builder.complete and self.error is None:
            return self.builder.message
        return None

    # -- internals --------------------------------------------------------------------------------
    def _inflated(self, chunk: bytes | None) -> bytes | None:
        """``chunk`` decompressed (None: the end), or None when the compressed stream is corrupt."""
        try:
            plain: bytes = self._inflate.decompress(chunk) if chunk is not None else self._inflate.flush()
            return plain
        except zlib.error as exc:
            self._inflate = None
            self._corrupt = f"its compressed answer is corrupt ({exc})"
            return None

    def _cannot_read(self, exc: Exception) -> bytes:
        """An upstream event the decoder could not handle (valid JSON of an unexpected shape): the
        client's stream ends with an error event naming it, instead of the connection being dropped;
        the rest of the upstream's stream is ignored."""
        log.debug("upstream event could not be read", exc_info=exc)
        self._unreadable = True
        if self.builder is not None:
            self.builder.complete = False
        event = _broken_event(f"upstream {self.provider.id} sent an event lynkr could not read "
                              f"({type(exc).__name__}: {exc})")
        try:
            return self._emit([event])
        except Exception:  # the client's encoder failed too: record it, send nothing more
            self._observe(event)
            return b""

    def _emit(self, events: list[Event]) -> bytes:
        out = []
        for event in events:
            self._observe(event)
            if self.builder is not None:
                self.builder.add(event)
            if self._encoder is not None and self.client_stream:
                out.append(self._encoder.encode(event))
        return b"".join(out)

    def _observe(self, event: Event) -> None:
        kind = event.get("type")
        if kind == "message_start":
            message = event.get("message") or {}
            if not message.get("model") and self._asked_model:
                message["model"] = self._asked_model  # filled before the client's encoder sees it
            self.model = _text(message.get("model")) or self.model
            self.usage.update_from_anthropic(message.get("usage"))
        elif kind == "message_delta":
            self.usage.update_from_anthropic(event.get("usage"))
            self.stop_reason = _text((event.get("delta") or {}).get("stop_reason")) or self.stop_reason
        elif kind == "message_stop":
            self.stopped = True
        elif kind == "error":
            error = event.get("error") or {}
            message = str(error.get("message", ""))
            self.error = f"{error.get('type', 'error')}: {message}"
            # For a non-streaming client's error body: lynkr's own messages without their prefix.
            self._error_detail = message.removeprefix("lynkr: ") if message.startswith("lynkr: ") else self.error

    def _observe_message(self, message: dict[str, Any]) -> None:
        self.model = _text(message.get("model")) or self.model
        self.usage.update_from_anthropic(message.get("usage"))
        self.stop_reason = _text(message.get("stop_reason"))

    def _final_json(self) -> bytes:
        message = self.message
        if message is None:
            self._mode = "error"
            return self._error_body(self._error_detail or "the upstream stream ended before the response was complete")
        return dumps(self.client.encode_message(message, self.request))

    def _error_body(self, broken: str | None) -> bytes:
        body = b"".join(self._buffer)
        if broken and self._status < 300:
            detail = broken if broken.startswith("upstream ") else f"upstream {self.provider.id}: {broken}"
            status = 502
        else:
            detail = self.provider.error_message(self.wire, self._status, body, self._content_type)
            status = self._status if self._status >= 400 else 502
            if self.rerouted and status == 404:
                asked = self.request.body.get("model")
                detail += f" (lynkr sent this request to model {self.rerouted!r} instead of {asked!r}: check its tiers)"
            if status == 404 and (self.wire != self.request.inbound or self.rerouted):
                # The model (or endpoint) lynkr sent the request to is missing upstream. Clients read a
                # 404 as "the model *you* asked for does not exist": Claude Code then names its own
                # Claude model and hides the message ("model not found, try pulling it first").
                status = 400
        self._status = status
        self._mode = "error"
        self.error = self.error or detail
        return self.client.error_body(f"lynkr: {detail}", self.client.error_type(status))


def inflater(headers: list[tuple[bytes, bytes]]) -> Any:
    """A decompressor for an answer sent gzip- or deflate-encoded although lynkr asks upstreams for
    ``identity`` (some gateways compress anyway): translation needs the plain bytes."""
    for key, value in headers:
        if key.lower() == b"content-encoding" and value.strip().lower() in (b"gzip", b"x-gzip", b"deflate"):
            return zlib.decompressobj(32 + zlib.MAX_WBITS)  # gzip or zlib header, detected
    return None


def _error_in_answer(body: Any) -> str | None:
    """The message of an error object given as an answer (``{"error": …}`` or ``{"type": "error"}``
    with no content beside it), else None: decoded as a message it became an empty, successful
    answer, recorded without an error and even cached."""
    if not isinstance(body, dict) or not body.get("error"):
        return None
    if any(body.get(key) for key in ("choices", "content", "output", "message")):
        return None
    return error_detail(body) or str(body["error"])[:300]


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _is_stream_cut(event: Event) -> bool:
    return event.get("type") == "error" and str((event.get("error") or {}).get("message")).startswith(STREAM_CUT)


def _broken_event(broken: str) -> Event:
    return {"type": "error", "error": {"type": "api_error", "message": f"lynkr: {broken}"}}
