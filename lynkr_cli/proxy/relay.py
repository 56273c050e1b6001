"""Forwarding one request upstream and streaming the answer back as it arrives.

The relay never holds a response back: each chunk the upstream sends is passed to the client as soon
as it is read. Two writers do that: the pass-through writer sends the upstream's bytes as they are
while a scanner reads usage from them; the translating writer sends what a translator makes of them
in the client's format (``proxy/answers.py`` declares both readers). A watcher notices when the
client goes away (before or during the response) and cancels the upstream call. Every relayed request
ends as exactly one ledger row, whatever happened: success, upstream error, broken stream,
disconnect, or shutdown.
"""

from __future__ import annotations

import asyncio
import time
import zlib
from collections.abc import AsyncGenerator, AsyncIterator
from typing import TYPE_CHECKING, Callable

import httpx
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from lynkr_cli.errors import LynkrError, UpstreamError, UpstreamTimeout
from lynkr_cli.proxy.chunks import EventAligner, JoinedReads, batched
from lynkr_cli.proxy.translate import inflater
from lynkr_cli.redact import is_credential_header, redact_text

if TYPE_CHECKING:
    from lynkr_cli.formats.base import Codec
    from lynkr_cli.ledger import RequestRecord
    from lynkr_cli.providers.base import UpstreamCall
    from lynkr_cli.proxy.answers import Readers, Scanner, Translator
    from lynkr_cli.proxy.context import ProxyContext
    from lynkr_cli.proxy.failover import Failover

_DROP_RESPONSE_HEADERS = frozenset(
    {b"content-length", b"connection", b"keep-alive", b"transfer-encoding", b"te", b"trailer", b"upgrade",
     b"server", b"date"}
)


def join_url(base: str, path: str, query: str) -> str:
    """``base`` may carry a path prefix (a company gateway); it is kept."""
    url = base.rstrip("/") + path
    return f"{url}?{query}" if query else url


def relay_call(ctx: ProxyContext, call: UpstreamCall, record: RequestRecord, readers: Readers,
               client: Codec) -> RelayResponse:
    """An ASGI response that sends ``call`` and streams its answer back, read by ``readers``; errors
    lynkr itself answers are in ``client``'s format."""
    assert ctx.client is not None, "proxy client not started"
    upstream_request = ctx.client.build_request(call.method, call.url, headers=call.headers, content=call.body)
    return RelayResponse(ctx, upstream_request, record, readers, client)


class RelayResponse:
    """Streams one upstream response to the client; records it in the ledger exactly once."""

    def __init__(self, ctx: ProxyContext, upstream_request: httpx.Request, record: RequestRecord, readers: Readers,
                 client: Codec) -> None:
        self.ctx = ctx
        self.upstream_request = upstream_request
        self.record = record
        self.readers = readers
        self.client = client
        self.on_finish: Callable[[], None] | None = None  # after the body ended (e.g. the cache's store)
        self.failover: Failover | None = None  # the router's retries and failover, when it has any
        self.extra_headers: list[tuple[bytes, bytes]] = []  # the router's (x-lynkr-tier …)
        self._client_gone = False
        self._recorded = False
        self._client_has_answer = False  # its final event was sent: leaving after it is no error
        self._t0 = 0.0

    @property
    def scanner(self) -> Scanner:
        return self.readers.scanner

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        task = asyncio.current_task()
        assert task is not None
        watcher = asyncio.create_task(self._watch_disconnect(receive, task))
        if self.extra_headers:
            send = _with_headers(send, self.extra_headers)
        self._t0 = time.perf_counter()
        try:
            await self._relay(send)
        except asyncio.CancelledError:
            # Once recorded, the whole answer was relayed: the row is left as it is (the ledger's
            # writer may be reading it already), whatever happens during the last send.
            if not self._client_gone:
                if not self._recorded:
                    self.record.error = self.record.error or "cancelled: lynkr shut down before the response ended"
                raise
            task.uncancel()  # our own cancellation: the client left
            # A client may leave as soon as it has the final event (the OpenAI SDK closes the
            # connection at ``[DONE]``), before the upstream has ended its body: not an error.
            # An SDK also closes the stream at an error event lynkr relayed or sent: that error is the
            # row's, not the disconnect it caused.
            if not self._recorded and not self._client_has_answer:
                self.record.error = (self.record.error or self.scanner.error
                                     or "client disconnected before the response ended")
        finally:
            watcher.cancel()
            self._done()

    def _done(self) -> None:
        """Record the request (once) and run ``on_finish``.

        Called just before the last message of the response is sent, so a client that has read the
        end of the answer always finds its row (and the cache its entry); the ``finally`` above only
        catches the responses that never got that far.
        """
        if self._recorded:
            return
        self._recorded = True
        _finish(self.ctx, self.record, self.scanner, self._t0, self.upstream_request.headers)
        if self.on_finish is not None:
            self.on_finish()

    async def _watch_disconnect(self, receive: Receive, task: asyncio.Task[None]) -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                self._client_gone = True
                task.cancel()
                return

    async def _relay(self, send: Send) -> None:
        upstream = await self._open(send)
        if upstream is None:
            return
        try:
            translator = self.readers.translator or self._non_api_translator(upstream)
            if translator is None:
                await self._write_through(send, upstream, self.readers.scanner)
            else:
                self.readers.scanner = translator  # it reads usage and errors from what it translates
                await self._write_translated(send, upstream, translator)
        finally:
            await upstream.aclose()

    async def _open(self, send: Send) -> httpx.Response | None:
        """The upstream's response (after the router's retries and failover); None when the call
        failed and the client got lynkr's error instead."""
        client = self.ctx.client
        assert client is not None
        error: BaseException | None = None
        response: httpx.Response | None = None
        try:
            if self.failover is None:
                response = await client.send(self.upstream_request, stream=True)
            else:
                outcome, switch = await self.failover.open(client)
                if switch is not None:  # another model answers: read its answer, name it in the headers
                    self.upstream_request = outcome.candidate.build()
                    self.readers = self.failover.readers(switch)
                    self.extra_headers[:] = self.ctx.router.response_headers(switch.decision)
                response, error = outcome.response, outcome.error
        except httpx.HTTPError as exc:
            error = exc
        if response is not None:
            return response
        assert isinstance(error, httpx.HTTPError), error
        kind = UpstreamTimeout if isinstance(error, httpx.TimeoutException) else UpstreamError
        await self._send_error(send, kind(_describe(error, str(self.upstream_request.url))))
        return None

    def _non_api_translator(self, upstream: httpx.Response) -> Translator | None:
        """For a pass-through answer the client could not read: an HTML page where an API answer
        belongs, or a 404 for a model lynkr chose (a tier, a fallback). Passed on, a 404 would make
        Claude Code say the user's own model may not exist; translated, the error names the
        upstream's message and the model lynkr sent the request to."""
        non_api = self.readers.non_api
        if non_api is None:
            return None
        if _not_an_api_answer(upstream):
            return non_api
        requested, used = self.record.model_requested, self.record.model_used
        if upstream.status_code == 404 and requested and used and requested != used:
            non_api.rerouted = used
            return non_api
        return None

    async def _write_through(self, send: Send, upstream: httpx.Response, scanner: Scanner) -> None:
        """The upstream's bytes to the client as they are, read by ``scanner`` on the side."""
        record = self.record
        record.status = upstream.status_code
        scanner.begin(upstream.status_code, upstream.headers.get("content-type"), upstream.headers.raw)
        headers = [(k, v) for k, v in upstream.headers.raw if k.lower() not in _DROP_RESPONSE_HEADERS]
        await send({"type": "http.response.start", "status": upstream.status_code, "headers": headers})
        # A gateway may compress although lynkr asks for identity: the bytes go on as they are (the
        # client decompresses), the scanner reads them decompressed, and no event alignment is
        # possible on compressed bytes (it would hold them back).
        inflate = inflater(upstream.headers.raw)
        events = EventAligner() if scanner.streaming and inflate is None else None
        raw = upstream.aiter_raw()
        chunks = _Unbatched(raw) if isinstance(upstream.stream, JoinedReads) else batched(raw)
        broken = False
        try:
            async for chunk in chunks:
                if record.ttfb_ms is None:
                    record.ttfb_ms = (time.perf_counter() - self._t0) * 1000
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
            record.error = f"upstream stream broke: {_describe(exc, str(self.upstream_request.url))}"
            if events is not None and events.pending:
                record.error += f" (an unfinished event of {len(events.pending)} bytes was dropped)"
            if scanner.streaming and inflate is None:
                # The client has a 200 and part of a stream: end it with an event it understands.
                await send({"type": "http.response.body", "body": scanner.broken_tail(record.error), "more_body": True})
            else:
                # A JSON answer cut short must reach the client as a broken response (its SDK reports
                # a connection error and may retry), not as a complete body of truncated JSON: the
                # body is left unended and the server closes the connection. So must a compressed
                # stream: plain bytes appended to it would not decompress.
                broken = True
        finally:
            await chunks.aclose()
        self._done()
        if not broken:
            await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _write_translated(self, send: Send, upstream: httpx.Response, translator: Translator) -> None:
        """The answer decoded and re-encoded event by event; head deferred when it needs the body."""
        record = self.record
        translator.begin(upstream.status_code, upstream.headers.get("content-type"), upstream.headers.raw)
        head = translator.head()
        if head is not None:
            record.status = head[0]
            await send({"type": "http.response.start", "status": head[0], "headers": head[1]})
        broken: str | None = None
        try:
            async for chunk in upstream.aiter_raw():
                if record.ttfb_ms is None:
                    record.ttfb_ms = (time.perf_counter() - self._t0) * 1000
                record.response_bytes += len(chunk)
                out = translator.translate(chunk)
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
        self._done()
        await send({"type": "http.response.body", "body": tail, "more_body": False})

    async def _send_error(self, send: Send, error: LynkrError) -> None:
        self.record.status = error.http_status
        self.record.error = str(error)
        response = error_response(error, self.client)
        await send({"type": "http.response.start", "status": response.status_code, "headers": response.raw_headers})
        self._done()  # recorded before the body that ends the response
        await send({"type": "http.response.body", "body": response.body, "more_body": False})


class _Unbatched:
    """The chunks of a ``JoinedReads`` body as they come, closed like ``batched``."""

    def __init__(self, chunks: AsyncIterator[bytes]) -> None:
        self._chunks = chunks

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._chunks

    async def aclose(self) -> None:
        """Ends the iteration (the response's own ``aclose``, in ``_relay``, ends its body)."""
        if isinstance(self._chunks, AsyncGenerator):
            await self._chunks.aclose()


def _with_headers(send: Send, extra: list[tuple[bytes, bytes]]) -> Send:
    """``send`` that adds ``extra`` headers to the response head, whichever path sends it."""

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []), *extra]}
        await send(message)

    return sending


def _not_an_api_answer(upstream: httpx.Response) -> bool:
    """An HTML page where an API answer belongs (a wrong base URL, a gateway's error page)."""
    content_type: str = upstream.headers.get("content-type", "")
    return content_type.startswith("text/html")


def _credentials(headers: httpx.Headers) -> tuple[str, ...]:
    """The credential values this request carried, whatever their shape or header name (a company
    gateway's ``Ocp-Apim-Subscription-Key`` matches no known key pattern), so an upstream error
    echoing one is redacted before it is stored."""
    values = [value for name, value in headers.items() if is_credential_header(name)]
    return tuple(part for value in values if value for part in (value, value.split(" ", 1)[-1]))


def _finish(ctx: ProxyContext, record: RequestRecord, scanner: Scanner, t0: float,
            sent_headers: httpx.Headers | None = None) -> None:
    scanner.finish()
    record.latency_ms = (time.perf_counter() - t0) * 1000
    record.model_used = scanner.model or record.model_used
    usage = scanner.usage
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


def error_response(error: LynkrError, client: Codec) -> Response:
    """A lynkr error in the client's own API format, with the status that matches it."""
    return Response(client.error(error), status_code=error.http_status, media_type="application/json",
                    headers=dict(error.headers) if error.headers else None)  # retry-after, connection: close


def _describe(exc: httpx.HTTPError, url: str) -> str:
    kind = type(exc).__name__
    detail = str(exc) or kind
    host = httpx.URL(url).copy_with(query=None)
    return redact_text(f"{kind} talking to {host}: {detail}")
