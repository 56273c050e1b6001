"""The relay's two byte-stream helpers: reads joined as they arrive, and SSE passed on in whole events."""

from __future__ import annotations

import asyncio
from typing import AsyncIterator

import httpx


class JoinedReads(httpx.AsyncByteStream):
    """A response body each of whose chunks is already everything read from the connection so far
    (lynkr's own transport, ``proxy/wire.py``): the relay passes its chunks on without ``batched``,
    whose reader task would cost a task and a loop turn per answer for nothing to join. httpx's own
    transport yields the stream chunk by chunk and goes through ``batched``."""


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


class EventAligner:
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
