"""HTTP/1.1 to the upstream on plain asyncio streams: an httpx transport for direct connections.

Profiling ``lynkr run`` showed the upstream call as the largest single cost a proxied request adds:
httpx's default transport (httpcore, h11 and anyio) spends ~1.3 ms of CPU on one streamed exchange
of an 85 KB Claude Code request, where the same exchange written on asyncio streams takes ~0.2 ms
(``bench/stack_floor.py``). The exchange itself is small: one request written in one go, a status
line and headers, and a body framed by ``Content-Length``, chunked encoding or the end of the
connection. This module speaks exactly that and nothing else.

It plugs in below ``httpx.AsyncClient`` as its transport, so everything above keeps httpx's API and
error types (``ConnectError``, ``ReadTimeout``, ``RemoteProtocolError`` ...), which the relay, the
router's failover and the fault suite depend on. What it leaves to httpx: proxies (``UpstreamClient``
below is a plain httpx client when a proxy variable is set) and HTTP/2 (never enabled here).

Each body read returns everything the socket has at that moment (chunked framing removed), so a
burst of SSE events that arrived together becomes one chunk, one write to the client, and nothing
that has arrived is ever held back.
"""

from __future__ import annotations

import asyncio
import os
import ssl
import time
from typing import AsyncIterator

import httpx

_READ_SIZE = 1 << 16
_HEAD_LIMIT = 1 << 20  # a response head larger than this is not an API answer
_NO_BODY_STATUS = frozenset({204, 304})

Origin = tuple[str, str, int]  # scheme, host, port


class _Connection:
    """One keep-alive connection to an origin."""

    __slots__ = ("reader", "writer", "origin", "idle_since")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, origin: Origin) -> None:
        self.reader = reader
        self.writer = writer
        self.origin = origin
        self.idle_since = 0.0

    def reusable(self, now: float, expiry: float) -> bool:
        """Still open, nothing unread on it, and not idle for longer than ``expiry``."""
        return (
            not self.reader.at_eof()
            and not self.writer.transport.is_closing()
            and now - self.idle_since < expiry
        )

    def close(self) -> None:
        self.writer.close()


class WireTransport(httpx.AsyncBaseTransport):
    """HTTP/1.1 with keep-alive over asyncio streams, for direct ``http``/``https`` upstreams."""

    def __init__(
        self,
        ssl_context: ssl.SSLContext,
        limits: httpx.Limits = httpx.Limits(),
    ) -> None:
        self._ssl = ssl_context
        ssl_context.set_alpn_protocols(["http/1.1"])  # say so in the handshake, as httpcore does
        self._max_idle = limits.max_keepalive_connections  # None: no limit, as in httpx
        self._expiry = limits.keepalive_expiry if limits.keepalive_expiry is not None else 5.0
        self._slots = asyncio.Semaphore(limits.max_connections) if limits.max_connections else None
        self._idle: dict[Origin, list[_Connection]] = {}
        self._idle_count = 0
        self._closed = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol(f"lynkr's upstream transport does not speak {url.scheme!r}",
                                            request=request)
        timeouts = request.extensions.get("timeout", {})
        if self._slots is not None:
            await _acquire(self._slots, timeouts.get("pool"), request)
        connection: _Connection | None = None
        try:
            origin = (url.scheme, url.host, url.port or (443 if url.scheme == "https" else 80))
            connection = self._take_idle(origin) or await self._connect(origin, timeouts.get("connect"), request)
            try:
                await _send_request(connection, request, timeouts.get("write"))
            except httpx.WriteError as refused:
                # A gateway may answer before taking the whole body (a 413 past its size limit) and
                # close; the reset that breaks our write also makes the stream reader raise before
                # handing over the answer it already holds. That answer says more than the broken
                # pipe: read it from the bytes received so far.
                received = _received_so_far(connection)
                if received is None:
                    raise
                connection.reader = received
                try:
                    status, reason, headers, _ = await _read_head(connection, request, 1.0)
                except httpx.HTTPError:
                    raise refused from None
                keep_alive = False
            else:
                status, reason, headers, keep_alive = await _read_head(connection, request, timeouts.get("read"))
            body = _Body(self, connection, request, status, headers, keep_alive, timeouts.get("read"))
        except BaseException:
            if connection is not None:
                connection.close()
            if self._slots is not None:
                self._slots.release()
            raise
        return httpx.Response(status, headers=headers, stream=body,
                              extensions={"http_version": b"HTTP/1.1", "reason_phrase": reason})

    def _take_idle(self, origin: Origin) -> _Connection | None:
        idle = self._idle.get(origin)
        now = time.monotonic()
        while idle:
            connection = idle.pop()
            self._idle_count -= 1
            if connection.reusable(now, self._expiry):
                return connection
            connection.close()
        return None

    async def _connect(self, origin: Origin, timeout: float | None, request: httpx.Request) -> _Connection:
        scheme, host, port = origin
        tls = self._ssl if scheme == "https" else None
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(
                    host, port, ssl=tls, server_hostname=host if tls else None, limit=_HEAD_LIMIT,
                    # RFC 8305: try the next address after 250 ms instead of waiting out a dead one
                    # (a broken IPv6 route must not cost the whole connect timeout), as httpcore does.
                    happy_eyeballs_delay=0.25,
                )
        except TimeoutError:
            raise httpx.ConnectTimeout(f"no connection to {host}:{port} within {timeout} s", request=request) from None
        except (OSError, ssl.SSLError) as exc:
            raise httpx.ConnectError(_os_error(exc), request=request) from exc
        return _Connection(reader, writer, origin)

    def _release(self, connection: _Connection, reuse: bool) -> None:
        """A response ended: keep its connection for the next request, or close it."""
        if self._slots is not None:
            self._slots.release()
        if reuse and not self._closed and (self._max_idle is None or self._idle_count < self._max_idle):
            connection.idle_since = time.monotonic()
            self._idle.setdefault(connection.origin, []).append(connection)
            self._idle_count += 1
        else:
            connection.close()

    async def aclose(self) -> None:
        self._closed = True
        for connections in self._idle.values():
            for connection in connections:
                connection.close()
        self._idle.clear()
        self._idle_count = 0


class _Body(httpx.AsyncByteStream):
    """The response body, read as it arrives; gives the connection back once it was read whole."""

    def __init__(
        self,
        transport: WireTransport,
        connection: _Connection,
        request: httpx.Request,
        status: int,
        headers: list[tuple[bytes, bytes]],
        keep_alive: bool,
        read_timeout: float | None,
    ) -> None:
        self._transport = transport
        self._connection: _Connection | None = connection
        self._request = request
        self._timeout = read_timeout
        self._keep_alive = keep_alive
        self._complete = False
        self._length: int | None = None
        self._chunked: _ChunkedDecoder | None = None
        if request.method == "HEAD" or status in _NO_BODY_STATUS:
            self._length = 0
        elif any(name.lower() == b"transfer-encoding" for name, _ in headers):
            codings = b",".join(v for n, v in headers if n.lower() == b"transfer-encoding").lower()
            if codings.rsplit(b",", 1)[-1].strip() != b"chunked":
                self._keep_alive = False  # framed by the end of the connection (RFC 9112 §6.3)
            else:
                self._chunked = _ChunkedDecoder()
        else:
            lengths = {v.strip() for n, v in headers if n.lower() == b"content-length"}
            if len(lengths) > 1 or (lengths and not next(iter(lengths)).isdigit()):
                raise _protocol_error(request, f"invalid content-length {sorted(lengths)!r}", connection)
            if lengths:
                self._length = int(next(iter(lengths)))
            else:
                self._keep_alive = False
        if self._length == 0:
            self._complete = True

    async def __aiter__(self) -> AsyncIterator[bytes]:
        connection = self._connection
        if connection is None or self._complete:
            return
        reader, request = connection.reader, self._request
        remaining = self._length
        while True:
            size = _READ_SIZE if remaining is None else min(remaining, _READ_SIZE)
            try:
                async with asyncio.timeout(self._timeout):
                    data = await reader.read(size)
            except TimeoutError:
                raise httpx.ReadTimeout(f"no data from the upstream for {self._timeout} s", request=request) from None
            except OSError as exc:
                raise httpx.ReadError(_os_error(exc), request=request) from exc
            if not data:
                if remaining is None and self._chunked is None:  # framed by the end of the connection
                    self._complete = True
                    return
                raise httpx.RemoteProtocolError(
                    "peer closed connection without sending complete message body"
                    + (f" ({remaining} bytes missing)" if remaining is not None else " (incomplete chunked read)"),
                    request=request,
                )
            if self._chunked is not None:
                try:
                    data = self._chunked.feed(data)
                except ValueError as exc:
                    raise httpx.RemoteProtocolError(f"malformed chunked body: {exc}", request=request) from None
                if self._chunked.done:
                    self._complete = True
                    if self._chunked.surplus:
                        self._keep_alive = False
                if data:
                    yield data
                if self._complete:
                    return
                continue
            if remaining is not None:
                remaining -= len(data)
                if remaining == 0:
                    self._complete = True
            yield data
            if self._complete:
                return

    async def aclose(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            self._transport._release(connection, self._complete and self._keep_alive)


class _ChunkedDecoder:
    """Incremental ``Transfer-Encoding: chunked`` decoder: ``feed`` returns the data bytes so far."""

    __slots__ = ("_buffer", "_remaining", "_state", "done", "surplus")

    _SIZE, _DATA, _DATA_END, _TRAILER = range(4)

    def __init__(self) -> None:
        self._buffer = b""
        self._remaining = 0
        self._state = self._SIZE
        self.done = False
        self.surplus = False

    def feed(self, data: bytes) -> bytes:
        buffer = self._buffer + data if self._buffer else data
        out: list[bytes] = []
        position = 0
        while position < len(buffer) and not self.done:
            if self._state == self._DATA:
                take = min(self._remaining, len(buffer) - position)
                out.append(buffer[position : position + take])
                position += take
                self._remaining -= take
                if self._remaining == 0:
                    self._state = self._DATA_END
                continue
            end = buffer.find(b"\r\n", position)
            if end < 0:
                if len(buffer) - position > 4096:
                    raise ValueError("chunk header line too long")
                break
            line = buffer[position:end]
            position = end + 2
            if self._state == self._SIZE:
                size_text = line.split(b";", 1)[0].strip()
                try:
                    size = int(size_text, 16)
                except ValueError:
                    raise ValueError(f"bad chunk size {size_text[:20]!r}") from None
                if size < 0:
                    raise ValueError(f"bad chunk size {size_text[:20]!r}")
                if size == 0:
                    self._state = self._TRAILER
                else:
                    self._remaining, self._state = size, self._DATA
            elif self._state == self._DATA_END:
                if line:
                    raise ValueError("chunk data longer than its declared size")
                self._state = self._SIZE
            elif not line:  # the blank line after the trailer fields ends the body
                self.done = True
        self._buffer = buffer[position:] if not self.done else b""
        self.surplus = self.done and position < len(buffer)
        return b"".join(out) if len(out) != 1 else out[0]


async def _acquire(slots: asyncio.Semaphore, timeout: float | None, request: httpx.Request) -> None:
    try:
        async with asyncio.timeout(timeout):
            await slots.acquire()
    except TimeoutError:
        raise httpx.PoolTimeout("all upstream connections are busy", request=request) from None


async def _send_request(connection: _Connection, request: httpx.Request, timeout: float | None) -> None:
    url = request.url
    lines = [b"%s %s HTTP/1.1\r\n" % (request.method.encode("ascii"), url.raw_path)]
    for name, value in request.headers.raw:
        if b"\r" in value or b"\n" in value or b"\r" in name or b"\n" in name or b":" in name:
            raise httpx.LocalProtocolError(f"invalid header {name[:40]!r}", request=request)
        lines.append(b"%s: %s\r\n" % (name, value))
    lines.append(b"\r\n")
    writer = connection.writer
    try:
        async with asyncio.timeout(timeout):
            if hasattr(request, "_content"):  # a body given as bytes (always, from lynkr)
                writer.write(b"".join(lines) + request.content)
            else:
                chunked = "content-length" not in request.headers
                writer.write(b"".join(lines))
                async for part in request.stream:  # type: ignore[union-attr]
                    if part:
                        writer.write(b"%x\r\n%s\r\n" % (len(part), part) if chunked else part)
                if chunked:
                    writer.write(b"0\r\n\r\n")
            await writer.drain()
    except TimeoutError:
        raise httpx.WriteTimeout(f"the upstream did not take the request within {timeout} s", request=request) from None
    except OSError as exc:
        raise httpx.WriteError(_os_error(exc), request=request) from exc


async def _read_head(
    connection: _Connection, request: httpx.Request, timeout: float | None
) -> tuple[int, bytes, list[tuple[bytes, bytes]], bool]:
    """Status, reason, headers and whether the connection may be reused; 1xx answers are skipped."""
    reader = connection.reader
    while True:
        try:
            async with asyncio.timeout(timeout):
                head = await reader.readuntil(b"\r\n\r\n")
        except TimeoutError:
            raise httpx.ReadTimeout(f"no answer from the upstream within {timeout} s", request=request) from None
        except asyncio.IncompleteReadError as exc:
            detail = "Server disconnected without sending a response." if not exc.partial else \
                "Server disconnected in the middle of the response head."
            raise httpx.RemoteProtocolError(detail, request=request) from None
        except asyncio.LimitOverrunError:
            raise _protocol_error(request, f"response head larger than {_HEAD_LIMIT} bytes", connection) from None
        except OSError as exc:
            raise httpx.ReadError(_os_error(exc), request=request) from exc
        status_line, *lines = head[:-4].split(b"\r\n")
        version, _, rest = status_line.partition(b" ")
        code, _, reason = rest.partition(b" ")
        if not version.startswith(b"HTTP/1.") or len(code) != 3 or not code.isdigit():
            raise _protocol_error(request, f"not an HTTP/1.x response: {status_line[:60]!r}", connection)
        status = int(code)
        if 100 <= status < 200 and status != 101:
            continue
        headers: list[tuple[bytes, bytes]] = []
        keep_alive = version == b"HTTP/1.1"
        for line in lines:
            if line[:1] in (b" ", b"\t") and headers:  # obsolete line folding
                name, value = headers[-1]
                headers[-1] = (name, value + b" " + line.strip())
                continue
            name, colon, value = line.partition(b":")
            if not colon or not name or name != name.strip():
                raise _protocol_error(request, f"malformed header line {line[:60]!r}", connection)
            value = value.strip()
            headers.append((name, value))
            if name.lower() == b"connection":
                tokens = {token.strip() for token in value.lower().split(b",")}
                if b"close" in tokens:
                    keep_alive = False
                elif b"keep-alive" in tokens:
                    keep_alive = True
        return status, reason, headers, keep_alive


def _received_so_far(connection: _Connection) -> asyncio.StreamReader | None:
    """A reader holding what the connection received before it broke, if that includes a head."""
    data = bytes(connection.reader._buffer)  # type: ignore[attr-defined]  # StreamReader keeps it there (CPython 3.4+)
    if b"\r\n\r\n" not in data:
        return None
    reader = asyncio.StreamReader(limit=_HEAD_LIMIT)
    reader.feed_data(data)
    reader.feed_eof()
    return reader


def _protocol_error(request: httpx.Request, detail: str, connection: _Connection) -> httpx.RemoteProtocolError:
    connection.close()
    return httpx.RemoteProtocolError(detail, request=request)


def _os_error(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def _header_items(headers: object) -> list[tuple[bytes, bytes]] | None:
    """``headers`` as raw ``(name, value)`` pairs, names in their given case (as httpx keeps them),
    or None for anything httpx itself should handle (non-ASCII text, which it refuses its own way)."""
    if headers is None:
        return []
    if isinstance(headers, httpx.Headers):
        return list(headers.raw)
    items = list(headers.items()) if isinstance(headers, dict) else list(headers)  # type: ignore[call-overload]
    try:
        return [(name.encode("ascii"), value.encode("ascii")) for name, value in items]
    except (AttributeError, UnicodeEncodeError):
        return None


_PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


class UpstreamClient(httpx.AsyncClient):
    """The proxy's one ``httpx.AsyncClient``: on ``WireTransport``, and sending straight to it.

    ``AsyncClient.send`` wraps every request in auth, redirect, cookie and event-hook handling; lynkr
    uses none of them (credentials are the agent's own headers, redirects are not followed), and the
    wrapping cost ~0.2 ms per request. Skipping it also keeps the client from storing an upstream's
    ``Set-Cookie`` and sending it back on other sessions' requests, which a shared proxy client must
    not do.

    httpx ignores the proxy variables for a client given its own transport, so with ``HTTP_PROXY``,
    ``HTTPS_PROXY`` or ``ALL_PROXY`` in the environment this client is a plain httpx client instead:
    proxies and ``NO_PROXY`` then work exactly as httpx implements them.
    """

    def __init__(self, *, ssl_context: ssl.SSLContext, limits: httpx.Limits, **options: object) -> None:
        direct = not any(os.environ.get(name) for name in _PROXY_VARIABLES)
        self._wire = WireTransport(ssl_context, limits) if direct else None
        self._urls: dict[str, httpx.URL] = {}
        super().__init__(transport=self._wire, verify=ssl_context, limits=limits, **options)  # type: ignore[arg-type]

    def build_request(self, method: str, url: object, *, content: object = None, headers: object = None,
                      **options: object) -> httpx.Request:
        """``AsyncClient.build_request``, with the parsed upstream URL remembered: lynkr sends to a
        handful of URLs, and parsing one costs more than the rest of building the request."""
        given = None
        if self._wire is not None and not options and isinstance(content, bytes) and isinstance(url, str):
            given = _header_items(headers)
        if given is None or not isinstance(url, str):  # anything else is built by httpx itself
            return super().build_request(method, url, content=content, headers=headers, **options)  # type: ignore[arg-type]
        parsed = self._urls.get(url)
        if parsed is None:
            if len(self._urls) >= 512:
                self._urls.clear()
            parsed = self._urls[url] = httpx.URL(url)
        # httpx's merge, without its Headers objects (four of them per request, each rescanning its
        # list on every lookup): the client's defaults not given by the caller, then the caller's.
        names = {name.lower() for name, _ in given}
        merged = [item for item in self.headers.raw if item[0].lower() not in names] + given
        return httpx.Request(method, parsed, content=content, headers=merged,  # type: ignore[arg-type]
                             extensions={"timeout": self.timeout.as_dict()})

    @property
    def direct(self) -> bool:
        """Whether upstream calls go out on ``WireTransport`` (no proxy configured)."""
        return self._wire is not None

    async def send(
        self,
        request: httpx.Request,
        *,
        stream: bool = False,
        auth: object = httpx.USE_CLIENT_DEFAULT,
        follow_redirects: object = httpx.USE_CLIENT_DEFAULT,
    ) -> httpx.Response:
        plain = auth in (httpx.USE_CLIENT_DEFAULT, None) and (
            follow_redirects is httpx.USE_CLIENT_DEFAULT and not self.follow_redirects or follow_redirects is False
        )
        if self._wire is None or not plain or self.is_closed:
            return await super().send(request, stream=stream, auth=auth, follow_redirects=follow_redirects)  # type: ignore[arg-type]
        response = await self._wire.handle_async_request(request)
        response.request = request
        if not stream:
            try:
                await response.aread()
            finally:
                await response.aclose()
        return response
