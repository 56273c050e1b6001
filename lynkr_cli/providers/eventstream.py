"""AWS's binary event-stream framing (``application/vnd.amazon.eventstream``), both directions.

Bedrock's ConverseStream answers with this framing rather than SSE. Each message is::

    total length (u32) | headers length (u32) | prelude CRC32 (u32) | headers | payload | message CRC32 (u32)

all big-endian; the prelude CRC covers the first 8 bytes and the message CRC everything before it.
``EventStreamDecoder`` is fed the response bytes as they arrive, in chunks of any size, and yields
each complete message at once: nothing is buffered beyond one partial message, so the client sees
every token as soon as Bedrock sends it. A corrupt frame raises ``EventStreamError`` (a stream that
cannot be trusted is stopped, not guessed at). ``encode_message`` exists for the fake upstream in the
tests and for symmetry; lynkr never sends event streams.
"""

from __future__ import annotations

import struct
import uuid
import zlib
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterator, Mapping

_PRELUDE = struct.Struct(">III")
_MAX_MESSAGE = 24 * 1024 * 1024  # AWS caps a message at 16 MiB; anything larger is a corrupt length
HeaderValue = bool | int | bytes | str | datetime | uuid.UUID


class EventStreamError(ValueError):
    """The event stream is malformed: bad CRC, impossible length, or unknown header type."""


@dataclass(frozen=True)
class EventMessage:
    """One decoded message: its headers (``:event-type``, ``:message-type``…) and raw payload."""

    headers: Mapping[str, HeaderValue]
    payload: bytes

    @property
    def message_type(self) -> str:
        return str(self.headers.get(":message-type", "event"))

    @property
    def event_type(self) -> str | None:
        value = self.headers.get(":event-type")
        return str(value) if value is not None else None


class EventStreamDecoder:
    """Incremental decoder: ``feed(chunk)`` yields every message completed by that chunk."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, chunk: bytes) -> Iterator[EventMessage]:
        self._buffer += chunk
        while len(self._buffer) >= _PRELUDE.size:
            total, headers_length, prelude_crc = _PRELUDE.unpack_from(self._buffer)
            if zlib.crc32(self._buffer[:8]) != prelude_crc:
                raise EventStreamError("event stream prelude CRC mismatch")
            if total < 16 + headers_length or total > _MAX_MESSAGE:
                raise EventStreamError(f"event stream message has an impossible length ({total} bytes)")
            if len(self._buffer) < total:
                return
            frame = bytes(self._buffer[:total])
            del self._buffer[:total]
            (message_crc,) = struct.unpack_from(">I", frame, total - 4)
            if zlib.crc32(frame[:-4]) != message_crc:
                raise EventStreamError("event stream message CRC mismatch")
            headers = _decode_headers(frame[12 : 12 + headers_length])
            yield EventMessage(headers, frame[12 + headers_length : total - 4])

    @property
    def pending(self) -> int:
        """Bytes of an incomplete message still held (non-zero at the end means a cut stream)."""
        return len(self._buffer)


def _decode_headers(data: bytes) -> dict[str, HeaderValue]:
    headers: dict[str, HeaderValue] = {}
    pos = 0
    try:
        while pos < len(data):
            name_length = data[pos]
            name = data[pos + 1 : pos + 1 + name_length].decode()
            pos += 1 + name_length
            kind = data[pos]
            pos += 1
            value: HeaderValue
            if kind in (0, 1):
                value = kind == 0
            elif kind in _INTS:
                fmt = _INTS[kind]
                (value,) = struct.unpack_from(fmt, data, pos)
                pos += struct.calcsize(fmt)
            elif kind in (6, 7):
                (length,) = struct.unpack_from(">H", data, pos)
                raw = data[pos + 2 : pos + 2 + length]
                value = raw.decode() if kind == 7 else bytes(raw)
                pos += 2 + length
            elif kind == 8:
                (millis,) = struct.unpack_from(">q", data, pos)
                value = datetime.fromtimestamp(millis / 1000, tz=timezone.utc)
                pos += 8
            elif kind == 9:
                value = uuid.UUID(bytes=bytes(data[pos : pos + 16]))
                pos += 16
            else:
                raise EventStreamError(f"unknown event stream header type {kind}")
            headers[name] = value
    except (IndexError, struct.error, UnicodeDecodeError) as exc:
        raise EventStreamError(f"malformed event stream headers: {exc}") from exc
    return headers


_INTS = {2: ">b", 3: ">h", 4: ">i", 5: ">q"}


def encode_message(headers: Mapping[str, Any], payload: bytes) -> bytes:
    """One framed message; str values become string headers, bytes become byte arrays, bool and
    int the matching types (ints as 32-bit)."""
    encoded = bytearray()
    for name, value in headers.items():
        raw_name = name.encode()
        encoded += bytes([len(raw_name)]) + raw_name
        if isinstance(value, bool):
            encoded += bytes([0 if value else 1])
        elif isinstance(value, int):
            encoded += bytes([4]) + struct.pack(">i", value)
        elif isinstance(value, bytes):
            encoded += bytes([6]) + struct.pack(">H", len(value)) + value
        else:
            raw = str(value).encode()
            encoded += bytes([7]) + struct.pack(">H", len(raw)) + raw
    total = 16 + len(encoded) + len(payload)
    prelude = struct.pack(">II", total, len(encoded))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    body = prelude + bytes(encoded) + payload
    return body + struct.pack(">I", zlib.crc32(body))
