"""Forwarding one request upstream and streaming the answer back as it arrives.

The relay never holds a response back: each chunk the upstream sends is passed to the client as soon
as it is read, while a scanner picks the usage figures out of it. A watcher notices when the client
goes away (before or during the response) and cancels the upstream call. Every relayed request ends
as exactly one ledger row, whatever happened: success, upstream error, broken stream, disconnect,
or shutdown.
"""

from __future__ import annotations

import asyncio
import time
import zlib
from typing import TYPE_CHECKING, Any, AsyncIterator, Callable, Protocol

import httpx
from starlette.requests import Request
from starlette.responses import Response

from lynkr_cli.errors import LynkrError, UpstreamError, UpstreamTimeout, anthropic_error_body
from lynkr_cli.proxy.translate import inflater
from lynkr_cli.redact import redact_text

if TYPE_CHECKING:
    from lynkr_cli.ledger import RequestRecord
    from lynkr_cli.providers.base import UpstreamCall
    from lynkr_cli.proxy.context import ProxyContext
    from lynkr_cli.proxy.translate import ResponseTranslator

ErrorBody = Callable[[str, str], bytes]

# Hop-by-hop headers (RFC 9110 §7.6.1) and the ones the HTTP client recomputes.
_DROP_REQUEST_HEADERS = frozenset(
    {
        "host", "content-length", "connection", "keep-alive", "proxy-authorization", "proxy-connection",
        "te", "trailer", "transfer-encoding", "upgrade", "accept-encoding",
    }
)
_DROP_RESPONSE_HEADERS = frozenset(
    {b"content-length", b"connection", b"keep-alive", b"transfer-encoding", b"te", b"trailer", b"upgrade",
     b"server", b"date"}
)


class ResponseScanner(Protocol):
    """Watches a response body go by and remembers model, usage and errors."""

    model: str | None
    error: str | None
    stopped: bool  # the answer's final event went by: a client leaving after it is no error

    def begin(self, status: int, content_type: str | None) -> None: ...
    def feed(self, chunk: bytes) -> None: ...
    def finish(self) -> None: ...


def upstream_headers(request: Request) -> list[tuple[str, str]]:
    """The client's headers minus hop-by-hop ones; credentials and ``anthropic-*`` pass untouched."""
    headers = [(k, v) for k, v in request.headers.items() if k not in _DROP_REQUEST_HEADERS]
    headers.append(("accept-encoding", "identity"))  # so usage can be read from the bytes we relay
    return headers


def join_url(base: str, path: str, query: str) -> str:
    """``base`` may carry a path prefix (a company gateway); it is kept."""
    url = base.rstrip("/") + path
    return f"{url}?{query}" if query else url


def relay(
    ctx: ProxyContext,
    request: Request,
    body: bytes,
    url: str,
    record: RequestRecord,
    scanner: ResponseScanner,
    error_body: ErrorBody = anthropic_error_body,
) -> "RelayResponse":
    """An ASGI response that sends ``body`` to ``url`` and streams the upstream's answer back."""
    assert ctx.client is not None, "proxy client not started"
    upstream_request = ctx.client.build_request(request.method, url, headers=upstream_headers(request), content=body)
    return RelayResponse(ctx, upstream_request, record, scanner, error_body)


def relay_call(
    ctx: ProxyContext,
    call: UpstreamCall,
    record: RequestRecord,
    scanner: ResponseScanner,
    error_body: ErrorBody = anthropic_error_body,
    translator: ResponseTranslator | None = None,
) -> "RelayResponse":
    """Like ``relay`` for a request a provider adapter built; ``translator`` (also the scanner then)
    turns the answer into the client's format, otherwise the bytes pass through untouched."""
    assert ctx.client is not None, "proxy client not started"
    upstream_request = ctx.client.build_request(call.method, call.url, headers=call.headers, content=call.body)
    return RelayResponse(ctx, upstream_request, record, translator or scanner, error_body, translator)  # type: ignore[arg-type]


class RelayResponse:
    """Streams one upstream response to the client; records it in the ledger exactly once."""

    def __init__(
        self,
        ctx: ProxyContext,
        upstream_request: httpx.Request,
        record: RequestRecord,
        scanner: ResponseScanner,
        error_body: ErrorBody,
        translator: ResponseTranslator | None = None,
    ) -> None:
        self.translator = translator
        # Set by the caller: translates an HTML page (or other non-API answer) into the client's error.
        self.html_translator: ResponseTranslator | None = None
        self.on_finish: Callable[[], None] | None = None  # after the body ended (e.g. the cache's store)
        # Set by the router (routing/send.py): retries and failover, and headers such as x-lynkr-tier.
        self.fallback: Any = None
        self.extra_headers: list[tuple[bytes, bytes]] = []
        self.ctx = ctx
        self.upstream_request = upstream_request
        self.record = record
        self.scanner = scanner
        self.error_body = error_body
        self._client_gone = False
        self._recorded = False
        self._client_has_answer = False  # its final event was sent: leaving after it is no error

    async def __call__(self, scope, receive, send) -> None:  # type: ignore[no-untyped-def]
        task = asyncio.current_task()
        watcher = asyncio.create_task(self._watch_disconnect(receive, task))
        if self.extra_headers:
            send = _with_headers(send, self.extra_headers)
        t0 = time.perf_counter()
        try:
            await self._relay(send, t0)
        except asyncio.CancelledError:
            # Once recorded, the whole answer was relayed: the row is left as it is (the ledger's
            # writer may be reading it already), whatever happens during the last send.
            if not self._client_gone:
                if not self._recorded:
                    self.record.error = self.record.error or "cancelled: lynkr shut down before the response ended"
                raise
            task.uncancel()  # type: ignore[union-attr]  # our own cancellation: the client left
            # A client may leave as soon as it has the final event (the OpenAI SDK closes the
            # connection at ``[DONE]``), before the upstream has ended its body: not an error.
            # An SDK also closes the stream at an error event lynkr relayed or sent: that error is the
            # row's, not the disconnect it caused.
            if not self._recorded and not self._client_has_answer:
                self.record.error = (self.record.error or self.scanner.error
                                     or "client disconnected before the response ended")
        finally:
            watcher.cancel()
            self._done(t0)

    def _done(self, t0: float) -> None:
        """Record the request (once) and run ``on_finish``.

        Called just before the last message of the response is sent, so a client that has read the
        end of the answer always finds its row (and the cache its entry); the ``finally`` above only
        catches the responses that never got that far.
        """
        if self._recorded:
            return
        self._recorded = True
        _finish(self.ctx, self.record, self.scanner, t0, self.upstream_request.headers)
        if self.on_finish is not None:
            self.on_finish()

    def _model_was_changed(self) -> bool:
        requested, used = self.record.model_requested, self.record.model_used
        return bool(requested and used and requested != used)

    async def _watch_disconnect(self, receive, task) -> None:  # type: ignore[no-untyped-def]
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                self._client_gone = True
                task.cancel()
                return

    async def _relay(self, send, t0: float) -> None:  # type: ignore[no-untyped-def]
        client = self.ctx.client
        assert client is not None
        record = self.record
        try:
            if self.fallback is not None:  # may retry, fail over, and switch request and scanner
                upstream = await self.fallback.open(self, client)
            else:
                upstream = await client.send(self.upstream_request, stream=True)
        except httpx.TimeoutException as exc:
            await _send_error(send, record, UpstreamTimeout(_describe(exc, str(self.upstream_request.url))),
                              self.error_body, lambda: self._done(t0))
            return
        except httpx.HTTPError as exc:
            await _send_error(send, record, UpstreamError(_describe(exc, str(self.upstream_request.url))),
                              self.error_body, lambda: self._done(t0))
            return
        scanner, url = self.scanner, str(self.upstream_request.url)
        if self.translator is None and self.html_translator is not None:
            if _not_an_api_answer(upstream):
                self.translator = self.scanner = self.html_translator  # type: ignore[assignment]
            elif upstream.status_code == 404 and self._model_was_changed():
                # lynkr sent the request to another model (a tier, a fallback) and the upstream has no
                # such model: passed on as a 404, Claude Code would say the user's own model may not
                # exist. As an error lynkr describes, it names the upstream's message instead.
                self.html_translator.rerouted = self.record.model_used
                self.translator = self.scanner = self.html_translator  # type: ignore[assignment]
        if self.translator is not None:
            try:
                await self._translate(send, upstream, t0)
            finally:
                await upstream.aclose()
            return
        try:
            record.status = upstream.status_code
            scanner.begin(upstream.status_code, upstream.headers.get("content-type"))
            headers = [(k, v) for k, v in upstream.headers.raw if k.lower() not in _DROP_RESPONSE_HEADERS]
            await send({"type": "http.response.start", "status": upstream.status_code, "headers": headers})
            # A gateway may compress although lynkr asks for identity: the bytes go on as they are
            # (the client decompresses), the scanner reads them decompressed, and no event alignment
            # is possible on compressed bytes (it would hold them back).
            inflate = inflater(upstream.headers.raw)
            events = _EventAligner() if getattr(scanner, "streaming", False) and inflate is None else None
            chunks = batched(upstream.aiter_raw())
            broken = False
            try:
                async for chunk in chunks:
                    if record.ttfb_ms is None:
                        record.ttfb_ms = (time.perf_counter() - t0) * 1000
                    record.response_bytes += len(chunk)
                    if inflate is None:
                        scanner.feed(chunk)
                    elif inflate is not False:
                        try:
                            scanner.feed(inflate.decompress(chunk))
                        except zlib.error:
                            record.error = "the upstream's compressed answer is corrupt (relayed as sent)"
                            inflate = False
                    out = events.whole(chunk) if events is not None else chunk
                    if out:
                        await send({"type": "http.response.body", "body": out, "more_body": True})
                        if scanner.stopped:
                            self._client_has_answer = True
                if events is not None and events.pending:  # the upstream ended cleanly: its bytes, as sent
                    await send({"type": "http.response.body", "body": events.pending, "more_body": True})
            except httpx.HTTPError as exc:
                record.error = f"upstream stream broke: {_describe(exc, url)}"
                if events is not None and events.pending:
                    record.error += f" (an unfinished event of {len(events.pending)} bytes was dropped)"
                if getattr(scanner, "streaming", False) and inflate is None:
                    # The client has a 200 and part of a stream: end it with an event it understands.
                    tail_for = getattr(scanner, "broken_tail", None)
                    tail = tail_for(record.error) if tail_for is not None else _sse_error(record.error)
                    await send({"type": "http.response.body", "body": tail, "more_body": True})
                else:
                    # A JSON answer cut short must reach the client as a broken response (its SDK
                    # reports a connection error and may retry), not as a complete body of truncated
                    # JSON: the body is left unended and the server closes the connection. So must a
                    # compressed stream: plain bytes appended to it would not decompress.
                    broken = True
            finally:
                await chunks.aclose()
            self._done(t0)
            if not broken:
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            await upstream.aclose()


    async def _translate(self, send, upstream: httpx.Response, t0: float) -> None:  # type: ignore[no-untyped-def]
        """The answer decoded and re-encoded event by event; head deferred when it needs the body."""
        record, translator = self.record, self.translator
        assert translator is not None
        translator.begin(upstream.status_code, upstream.headers.get("content-type"), upstream.headers.raw)
        head = translator.head()
        if head is not None:
            record.status = head[0]
            await send({"type": "http.response.start", "status": head[0], "headers": head[1]})
        broken: str | None = None
        try:
            async for chunk in upstream.aiter_raw():
                if record.ttfb_ms is None:
                    record.ttfb_ms = (time.perf_counter() - t0) * 1000
                record.response_bytes += len(chunk)
                out = translator.feed(chunk)
                if out:
                    await send({"type": "http.response.body", "body": out, "more_body": True})
                    if translator.stopped and translator.client_stream:
                        self._client_has_answer = True
                if translator.gave_up:  # the client has its error event: end now, not when the upstream does
                    break
        except httpx.HTTPError as exc:
            broken = f"upstream stream broke: {_describe(exc, str(self.upstream_request.url))}"
            record.error = broken
        tail = translator.end(broken)
        if head is None:
            status, headers = translator.final_head()
            record.status = status
            await send({"type": "http.response.start", "status": status, "headers": headers})
        self._done(t0)
        await send({"type": "http.response.body", "body": tail, "more_body": False})


class batched:
    """``chunks``, with those that are already read joined into one.

    An upstream often delivers several SSE events in one read (a whole short answer, or a burst after
    a pause); httpx yields them one by one, and each would become a write to the client's socket,
    which on a loaded machine costs far more than the bytes (measured: 16 writes per short answer were
    most of lynkr's added latency). One reader task per response pulls chunks as they come and the
    consumer takes everything read so far each time it asks, so nothing is ever held back waiting for
    more. (A task and a loop turn per chunk, the earlier way to find out whether the next read was
    already buffered, cost ~30 task creations per answer.) The reader pauses once ``limit`` bytes wait
    untaken (a slow client), it is cancelled by ``aclose`` (client gone), and an error after some
    chunks comes after those chunks.
    """

    def __init__(self, chunks: AsyncIterator[bytes], limit: int = 1 << 20) -> None:
        self._chunks = chunks.__aiter__()
        self._limit = limit
        self._parts: list[bytes] = []
        self._size = 0
        self._ended = False
        self._failure: BaseException | None = None
        self._waiting: asyncio.Future[None] | None = None  # the consumer, until something arrives
        self._room: asyncio.Future[None] | None = None  # the reader, until the consumer takes
        self._reader: asyncio.Task[None] | None = None

    def __aiter__(self) -> "batched":
        return self

    async def __anext__(self) -> bytes:
        if self._reader is None:
            self._reader = asyncio.create_task(self._read())
        while not self._parts:
            if self._ended:
                failure, self._failure = self._failure, None
                if failure is not None:
                    raise failure
                raise StopAsyncIteration
            self._waiting = asyncio.get_running_loop().create_future()
            try:
                await self._waiting
            finally:
                self._waiting = None
        parts, self._parts, self._size = self._parts, [], 0
        if self._room is not None and not self._room.done():
            self._room.set_result(None)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    async def _read(self) -> None:
        try:
            while True:
                chunk = await self._chunks.__anext__()
                self._parts.append(chunk)
                self._size += len(chunk)
                self._wake()
                if self._size >= self._limit:
                    self._room = asyncio.get_running_loop().create_future()
                    await self._room
        except StopAsyncIteration:
            pass
        except BaseException as exc:  # the consumer raises it after the chunks before it
            self._failure = exc
            if isinstance(exc, asyncio.CancelledError):
                raise
        finally:
            self._ended = True
            self._wake()

    def _wake(self) -> None:
        if self._waiting is not None and not self._waiting.done():
            self._waiting.set_result(None)

    async def aclose(self) -> None:
        """Stop reading: the read in flight is cancelled and has ended when this returns."""
        reader = self._reader
        if reader is None or reader.done():
            return
        reader.cancel()
        try:
            await reader
        except asyncio.CancelledError:
            if not reader.cancelled():  # it is this task that is being cancelled
                raise
        except BaseException:
            pass


class _EventAligner:
    """Passes an SSE stream on in whole events only.

    Upstreams send whole events, so nothing waits in practice; but when a stream breaks in the middle
    of an event, the half event must not reach the client glued to lynkr's closing ``error`` event (the
    client would parse one garbled event and miss the error). The unfinished tail is kept until the
    blank line that ends it arrives: as a list of reads, and only each new read (with the three bytes
    before it) is searched, so one huge event costs linear time, not a re-join and re-search per read.
    """

    __slots__ = ("_parts", "_tail")

    def __init__(self) -> None:
        self._parts: list[bytes] = []  # the unfinished event, as read
        self._tail = b""  # its last three bytes: a blank line may straddle two reads

    @property
    def pending(self) -> bytes:
        """The unfinished event's bytes so far."""
        return b"".join(self._parts)

    def whole(self, chunk: bytes) -> bytes:
        if not self._parts:
            end = _after_last_blank_line(chunk)
            if end == len(chunk):
                return chunk
            rest = chunk[end:] if end > 0 else chunk
            self._parts, self._tail = [rest], rest[-3:]
            return chunk[:end] if end > 0 else b""
        window = self._tail + chunk
        end = _after_last_blank_line(window)
        if end <= 0:  # still inside the event
            self._parts.append(chunk)
            self._tail = window[-3:]
            return b""
        cut = end - len(self._tail)  # > 0: the pending bytes hold no whole blank line
        out = b"".join(self._parts) + chunk[:cut]
        rest = chunk[cut:]
        self._parts, self._tail = ([rest], rest[-3:]) if rest else ([], b"")
        return out


def _after_last_blank_line(data: bytes) -> int:
    """The index just past the last blank line (``\\n\\n``, ``\\r\\n\\r\\n`` or ``\\r\\r``) in ``data``,
    or -1: the SSE spec allows all three line endings."""
    end = data.rfind(b"\n\n")
    end = end + 2 if end >= 0 else -1
    if b"\r" in data:
        crlf = data.rfind(b"\r\n\r\n")
        if crlf >= 0:
            end = max(end, crlf + 4)
        cr = data.rfind(b"\r\r")
        if cr >= 0:
            end = max(end, cr + 2)
    return end


def _with_headers(send, extra: list[tuple[bytes, bytes]]):  # type: ignore[no-untyped-def]
    """``send`` that adds ``extra`` headers to the response head, whichever path sends it."""

    async def sending(message):  # type: ignore[no-untyped-def]
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []), *extra]}
        await send(message)

    return sending


def _not_an_api_answer(upstream: httpx.Response) -> bool:
    """An HTML page where an API answer belongs (a wrong base URL, a gateway's error page)."""
    content_type: str = upstream.headers.get("content-type", "")
    return content_type.startswith("text/html")


async def _send_error(send, record: RequestRecord, error: LynkrError, error_body: ErrorBody,  # type: ignore[no-untyped-def]
                      done: Callable[[], None]) -> None:
    record.status = error.http_status
    record.error = str(error)
    response = error_response(error, error_body)
    await send({"type": "http.response.start", "status": response.status_code, "headers": response.raw_headers})
    done()  # recorded before the body that ends the response
    await send({"type": "http.response.body", "body": response.body, "more_body": False})


def _sse_error(message: str) -> bytes:
    body = anthropic_error_body(f"lynkr: {message}", "api_error").decode()
    return f"event: error\ndata: {body}\n\n".encode()


_CREDENTIAL_HEADERS = ("x-api-key", "authorization", "api-key", "x-goog-api-key", "proxy-authorization")


def _credentials(headers: httpx.Headers) -> tuple[str, ...]:
    """The credential values this request carried, whatever their shape (a company gateway's token
    matches no known key pattern), so an upstream error echoing one is redacted before it is stored."""
    values = [headers.get(name, "") for name in _CREDENTIAL_HEADERS]
    return tuple(part for value in values if value for part in (value, value.split(" ", 1)[-1]))


def _finish(ctx: ProxyContext, record: RequestRecord, scanner: ResponseScanner, t0: float,
            sent_headers: httpx.Headers | None = None) -> None:
    scanner.finish()
    record.latency_ms = (time.perf_counter() - t0) * 1000
    record.model_used = scanner.model or record.model_used
    usage = getattr(scanner, "usage", None)
    if usage is not None:
        record.input_tokens = usage.input_tokens
        record.output_tokens = usage.output_tokens
        record.cache_read_tokens = usage.cache_read_tokens
        record.cache_write_tokens = usage.cache_write_tokens
        priced = ctx.prices.priced(record.model_used or record.model_requested, record.provider, usage.input_tokens,
                                   usage.output_tokens, usage.cache_read_tokens, usage.cache_write_tokens)
        if priced is not None:  # unpriced stays None: counted apart, never shown as $0
            record.cost_usd = priced.cost
            record.details["price"] = priced.price.as_dict()
    if scanner.error and not record.error:
        record.error = scanner.error
    if record.error:
        record.error = redact_text(record.error, _credentials(sent_headers) if sent_headers is not None else ())
    ctx.record(record)


def error_response(error: LynkrError, error_body: ErrorBody = anthropic_error_body) -> Response:
    """A lynkr error in the client's own API format, with the status that matches it."""
    error_type = error.anthropic_type if error_body is anthropic_error_body else error.openai_type
    return Response(error_body(f"lynkr: {error}", error_type), status_code=error.http_status,
                    media_type="application/json")


def _describe(exc: httpx.HTTPError, url: str) -> str:
    kind = type(exc).__name__
    detail = str(exc) or kind
    host = httpx.URL(url).copy_with(query=None)
    return redact_text(f"{kind} talking to {host}: {detail}")
