"""HTTP/1.1 to the upstream on plain asyncio streams: an httpx transport for direct connections.

Profiling ``lynkr run`` showed the upstream call as the largest single cost a proxied request adds:
httpx's default transport (httpcore, h11 and anyio) spends ~1.3 ms of CPU on one streamed exchange
of an 85 KB Claude Code request, where the same exchange written on asyncio streams takes ~0.2 ms
(``bench/stack_floor.py``). The exchange itself is small: one request written in one go, a status
line and headers, and a body framed by ``Content-Length``, chunked encoding or the end of the
connection. This module speaks exactly that and nothing else.

It is an httpx transport (``httpx.AsyncBaseTransport``), so everything above keeps httpx's API and
error types (``ConnectError``, ``ReadTimeout``, ``RemoteProtocolError`` ...), which the relay, the
router's failover and the fault suite depend on. What it leaves to httpx: proxies (``upstream.py``
sends a proxied origin's requests on httpx's own transport) and HTTP/2 (never enabled here).
Measured against the maintained alternative (``httpx-aiohttp``) in bench/RESULTS.md, "Upstream
transport": that one adds 0.13-0.33 ms per request, maps a refused connection to a timeout, lets a
malformed answer escape as an aiohttp error, and adds ~230 ms of imports to the proxy's start.

The bytes of a connection are kept by its own ``asyncio.Protocol`` (``_Stream``), readable until
consumed even after the connection broke: a gateway refusing a large body answers 413 and resets
the connection while the body is still being written, and that answer must still be read.

Each body read returns everything the socket has at that moment (chunked framing removed), so a
burst of SSE events that arrived together becomes one chunk, one write to the client, and nothing
that has arrived is ever held back.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from typing import AsyncIterator

import httpx

from lynkr_cli.proxy.chunks import JoinedReads

_READ_SIZE = 1 << 16
_HEAD_LIMIT = 1 << 20  # a response head larger than this is not an API answer
_NO_BODY_STATUS = frozenset({204, 304})

Origin = tuple[str, str, int]  # scheme, host, port


class _Stream(asyncio.Protocol):
    """One connection's incoming bytes and its write flow control.

    Unlike ``asyncio.StreamReader``, bytes that arrived stay readable after the connection failed:
    the failure is raised only once they are consumed."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.eof = False
        self.lost = False
        self.error: BaseException | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._paused = False
        self._drained: asyncio.Future[None] | None = None

    # -- asyncio.Protocol ---------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        self._wake()

    def eof_received(self) -> bool:
        self.eof = True
        self._wake()
        return False  # close our side too: HTTP/1.1 sends nothing after the server is done

    def connection_lost(self, exc: BaseException | None) -> None:
        self.eof = self.lost = True
        self.error = exc
        self._wake()
        if self._drained is not None and not self._drained.done():
            self._drained.set_result(None)

    def pause_writing(self) -> None:
        self._paused = True

    def resume_writing(self) -> None:
        self._paused = False
        if self._drained is not None and not self._drained.done():
            self._drained.set_result(None)

    # -- reading ------------------------------------------------------------------------------------
    async def read_until(self, separator: bytes, limit: int) -> bytes:
        """Everything up to and including ``separator``; ``IncompleteRead`` if the bytes end first,
        ``HeadTooLarge`` past ``limit``."""
        start = 0
        while True:
            found = self.buffer.find(separator, start)
            if found >= 0:
                end = found + len(separator)
                data = bytes(self.buffer[:end])
                del self.buffer[:end]
                return data
            if len(self.buffer) > limit:
                raise _HeadTooLarge()
            if self.eof:
                if self.error is not None and not self.buffer:
                    raise self.error
                raise _IncompleteRead(bytes(self.buffer))
            start = max(0, len(self.buffer) - len(separator) + 1)
            await self._wait()

    async def read(self, size: int) -> bytes:
        """Up to ``size`` bytes, as soon as any are there; b"" at the end, the connection's error
        once what arrived before it was read."""
        while not self.buffer:
            if self.eof:
                if self.error is not None:
                    raise self.error
                return b""
            await self._wait()
        data = bytes(self.buffer[:size])
        del self.buffer[:size]
        return data

    @property
    def at_eof(self) -> bool:
        return self.eof and not self.buffer

    @property
    def readable_now(self) -> bool:
        """A read would return at once: bytes are there, or the end (no timeout to arm for it)."""
        return bool(self.buffer) or self.eof

    @property
    def writing_done(self) -> bool:
        """What was written sits with the transport, under its high-water mark: nothing to wait for."""
        return not self._paused and not self.lost

    async def _wait(self) -> None:
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    # -- writing ------------------------------------------------------------------------------------
    def write(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.write(data)

    async def drain(self) -> None:
        """Wait while the transport's write buffer is over its high-water mark."""
        while self._paused and not self.lost:
            self._drained = asyncio.get_running_loop().create_future()
            try:
                await self._drained
            finally:
                self._drained = None
        if self.lost:
            raise self.error or ConnectionResetError("Connection lost")


class _HeadTooLarge(Exception):
    pass


class _IncompleteRead(Exception):
    def __init__(self, partial: bytes) -> None:
        super().__init__(f"{len(partial)} bytes before the end")
        self.partial = partial


class _Connection:
    """One keep-alive connection to an origin."""

    __slots__ = ("stream", "origin", "idle_since")

    def __init__(self, stream: _Stream, origin: Origin) -> None:
        self.stream = stream
        self.origin = origin
        self.idle_since = 0.0

    def reusable(self, now: float, expiry: float) -> bool:
        """Still open, nothing unread on it, and not idle for longer than ``expiry``."""
        transport = self.stream.transport
        return (
            not self.stream.eof
            and not self.stream.buffer
            and transport is not None
            and not transport.is_closing()
            and now - self.idle_since < expiry
        )

    def close(self) -> None:
        if self.stream.transport is not None:
            self.stream.transport.close()


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
                # close or reset the connection: that answer, received before the write broke, says
                # more than the broken pipe.
                if b"\r\n\r\n" not in connection.stream.buffer:
                    raise
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
                _, stream = await asyncio.get_running_loop().create_connection(
                    _Stream, host, port, ssl=tls, server_hostname=host if tls else None,
                    # RFC 8305: try the next address after 250 ms instead of waiting out a dead one
                    # (a broken IPv6 route must not cost the whole connect timeout), as httpcore does.
                    happy_eyeballs_delay=0.25,
                )
        except TimeoutError:
            raise httpx.ConnectTimeout(f"no connection to {host}:{port} within {timeout} s", request=request) from None
        except (OSError, ssl.SSLError) as exc:
            raise httpx.ConnectError(_os_error(exc), request=request) from exc
        return _Connection(stream, origin)

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


class _Body(JoinedReads):
    """The response body, read as it arrives (each chunk all that was read: ``JoinedReads``); gives
    the connection back once it was read whole."""

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
        stream, request = connection.stream, self._request
        remaining = self._length
        while True:
            size = _READ_SIZE if remaining is None else min(remaining, _READ_SIZE)
            try:
                if stream.readable_now:  # most reads of a short answer: no timer armed and cancelled
                    data = await stream.read(size)
                else:
                    async with asyncio.timeout(self._timeout):
                        data = await stream.read(size)
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
    stream = connection.stream
    try:
        body: bytes | None = request.content  # a body given as bytes (always, from lynkr)
    except httpx.RequestNotRead:
        body = None
    try:
        if body is not None:
            stream.write(b"".join(lines) + body)
            if stream.writing_done:  # the usual case: handed over whole, no timer armed and cancelled
                return
        async with asyncio.timeout(timeout):
            if body is None:
                chunked = "content-length" not in request.headers
                stream.write(b"".join(lines))
                assert isinstance(request.stream, httpx.AsyncByteStream)
                async for part in request.stream:
                    if part:
                        stream.write(b"%x\r\n%s\r\n" % (len(part), part) if chunked else part)
                if chunked:
                    stream.write(b"0\r\n\r\n")
            await stream.drain()
    except TimeoutError:
        raise httpx.WriteTimeout(f"the upstream did not take the request within {timeout} s", request=request) from None
    except OSError as exc:
        raise httpx.WriteError(_os_error(exc), request=request) from exc


async def _read_head(
    connection: _Connection, request: httpx.Request, timeout: float | None
) -> tuple[int, bytes, list[tuple[bytes, bytes]], bool]:
    """Status, reason, headers and whether the connection may be reused; 1xx answers are skipped."""
    stream = connection.stream
    while True:
        try:
            async with asyncio.timeout(timeout):
                head = await stream.read_until(b"\r\n\r\n", _HEAD_LIMIT)
        except TimeoutError:
            raise httpx.ReadTimeout(f"no answer from the upstream within {timeout} s", request=request) from None
        except _IncompleteRead as exc:
            detail = "Server disconnected without sending a response." if not exc.partial else \
                "Server disconnected in the middle of the response head."
            raise httpx.RemoteProtocolError(detail, request=request) from None
        except _HeadTooLarge:
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


def _protocol_error(request: httpx.Request, detail: str, connection: _Connection) -> httpx.RemoteProtocolError:
    connection.close()
    return httpx.RemoteProtocolError(detail, request=request)


def _os_error(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__
