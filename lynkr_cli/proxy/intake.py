"""Reading and parsing a request body, bounded in time, memory and event-loop stall.

- ``read_body``: the whole body, refused with 413 past ``max_body_bytes``, with 408 (and the
  connection closed) when the client stops sending for ``serve.body_timeout_s``, with 503 and
  ``retry-after`` when it does not fit the proxy's body budget (``proxy/limits.py``); a client that
  leaves mid-body is a 499 in the ledger, not an internal error.
- ``parse_body``: the body as a JSON object. orjson parses in one call that holds the interpreter
  (measured: 0.36 to 0.48 s for a 36 MB body of 10^6 tiny messages, 0.23 s for 30 MB of empty
  strings, during which no other client is served). A body whose count of ``,`` ``{`` ``[`` bytes (an
  upper bound of its values, a C-speed scan) shows it cannot take long is parsed that way; any other
  is parsed on a worker thread by the standard library's Python scanner, which lets the event loop
  run every few milliseconds, counting values as it goes and giving up past ``MAX_VALUES``. Its parsed
  size is reserved from the body budget first.
"""

from __future__ import annotations

import asyncio
import json
import json.decoder
import json.scanner
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from starlette.requests import ClientDisconnect

from lynkr_cli.errors import BodyTimeout, ClientLeft, RequestTooLarge, ServerBusy, TooComplex, UsageError
from lynkr_cli.formats.jsonio import parse_json_object
from lynkr_cli.proxy.limits import PARSED_BYTES_PER_VALUE, BodyHold, progress

if TYPE_CHECKING:
    from starlette.requests import Request

HOLD_KEY = "lynkr.body"
SMALL_BODY = 256 * 1024  # below this no count is needed: at most ~90k values, ~30 ms to parse
FAST_VALUES = 100_000  # orjson parses this many values in 15 to 40 ms (objects cost most)
MAX_VALUES = 300_000  # the pipeline then takes ~0.1 s over them; a long Claude Code session has ~20k
_BUFFERED = 1024 * 1024  # bodies of known length above this are read into one buffer
_parser: ThreadPoolExecutor | None = None


def hold_of(request: Request) -> BodyHold | None:
    """The request's share of the body budget (set by the proxy's front)."""
    found = request.scope.get(HOLD_KEY)
    return found if isinstance(found, BodyHold) else None


async def read_body(request: Request, limit: int, stall_s: float | None = None) -> bytes:
    """The whole request body; see the module docstring for what refuses it."""
    declared = request.headers.get("content-length")
    size_hint = int(declared) if declared is not None and declared.isdigit() else None
    if size_hint is not None and size_hint > limit:
        raise RequestTooLarge(_too_large(size_hint, limit))
    hold = hold_of(request)
    # While reading, the chunks and their join are both alive: twice the size for a moment.
    if hold is not None and size_hint is not None and not hold.take(2 * size_hint):
        raise ServerBusy(_busy(hold))
    chunks: list[bytes] = []
    # A large body of known length is copied into one buffer as it arrives: each 64 KB read is freed at
    # once, instead of a list of them that leaves the heap fragmented after the join (measured: the
    # reads of three 36 MB bodies stayed resident after they were freed).
    buffer = bytearray(size_hint) if size_hint is not None and size_hint > _BUFFERED else None
    size = 0
    receive = request.receive
    stall = _Stall(stall_s)
    try:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ClientDisconnect()
            chunk = message.get("body", b"")
            if chunk:
                end = size + len(chunk)
                if end > limit:
                    raise RequestTooLarge(_too_large(end, limit))
                if buffer is not None and end <= len(buffer):
                    buffer[size:end] = chunk
                else:
                    if hold is not None and (size_hint is None or end > size_hint) and not hold.take(2 * len(chunk)):
                        raise ServerBusy(_busy(hold))
                    if buffer is not None:  # more than declared (h11 refuses that first): keep it all
                        chunks, buffer = [bytes(buffer[:size])], None
                    chunks.append(chunk)
                size = end
            if not message.get("more_body", False):
                break
            stall.progress()
            progress()
    except asyncio.CancelledError:
        if not stall.fired():
            raise
        raise BodyTimeout(f"the request body stalled: no data for {stall_s:g} s "
                          f"({size} bytes received; serve.body_timeout_s)") from None
    except ClientDisconnect:
        raise ClientLeft(f"the client left while sending its request body ({size} bytes received)") from None
    finally:
        stall.disarm()
    if buffer is not None:
        body = bytes(memoryview(buffer)[:size])
        del buffer
    else:
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
    del chunks
    if hold is not None:
        hold.give(hold.amount - len(body))  # the chunks are gone: the body itself stays held
    progress(busy=True)
    return body


class _Stall:
    """Cancels the reading task when no body byte came for ``seconds``: one timer per request, set
    when the body needs a second read and moved only when it fires (``asyncio.timeout`` re-armed per
    read cost ~5 us a read on the hot path)."""

    __slots__ = ("seconds", "last", "handle", "task", "_fired")

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self.last = 0.0
        self.handle: asyncio.TimerHandle | None = None
        self.task: asyncio.Task[Any] | None = None
        self._fired = False

    def progress(self) -> None:
        if self.seconds is None:
            return
        loop = asyncio.get_running_loop()
        self.last = loop.time()
        if self.handle is None:
            self.task = asyncio.current_task()
            self.handle = loop.call_at(self.last + self.seconds, self._check)

    def _check(self) -> None:
        assert self.seconds is not None and self.task is not None
        loop = asyncio.get_running_loop()
        due = self.last + self.seconds
        if loop.time() < due:  # bytes came since: look again when the new silence would be too long
            self.handle = loop.call_at(due, self._check)
            return
        self._fired = True
        self.task.cancel()

    def fired(self) -> bool:
        """True when the cancellation is this timer's (then the task's own count is restored)."""
        if self._fired and self.task is not None:
            self.task.uncancel()
            return True
        return False

    def disarm(self) -> None:
        if self.handle is not None:
            self.handle.cancel()


async def parse_body(request: Request, body: bytes) -> dict[str, Any]:
    """The body as a JSON object (a ``UsageError`` when it is not one), without stalling the loop."""
    if len(body) < SMALL_BODY:
        return parse_json_object(body)
    global _parser
    if _parser is None:  # one at a time: the loop competes with one parsing thread, not several
        _parser = ThreadPoolExecutor(1, thread_name_prefix="lynkr-parse")
    loop = asyncio.get_running_loop()
    values = await loop.run_in_executor(_parser, _count_values, body)
    slow = values > FAST_VALUES
    parsed = min(values, MAX_VALUES) * PARSED_BYTES_PER_VALUE + (len(body) if slow else 0)
    hold = hold_of(request)
    if hold is not None and not hold.take(parsed):  # the slow path also decodes the body to text first
        raise ServerBusy(_busy(hold))
    if not slow:
        return parse_json_object(body)
    return await loop.run_in_executor(_parser, _parse_counting, body)


def _count_values(body: bytes) -> int:
    """An upper bound of the body's JSON values: every value but the first in an array or object
    follows a comma (commas and brackets inside strings only make it larger). Three C-speed scans,
    on the worker thread: the loop gets the interpreter back between them (each ~10 ms for 30 MB)."""
    return body.count(b",") + body.count(b"{") + body.count(b"[") + 1


def _parse_counting(body: bytes) -> dict[str, Any]:
    """The standard library's pure-Python JSON scanner (strings still scanned in C) with a cap on
    values; it runs on a worker thread and the event loop takes its turns every few milliseconds.

    ``json.scanner.py_make_scanner`` and ``json.decoder.JSONObject``/``JSONArray`` are the pure-Python
    halves the ``json`` module has shipped since Python 2.6 (its fallback when the C accelerator is
    missing); typeshed leaves them out, hence the ignores. Values are counted as each object or array
    is completed, so a body is given up on soon after it passes ``MAX_VALUES``."""
    count = 0
    json_object = json.decoder.JSONObject  # type: ignore[attr-defined]
    json_array = json.decoder.JSONArray  # type: ignore[attr-defined]

    def counted(size: int) -> None:
        nonlocal count
        count += size + 1
        if count > MAX_VALUES:
            raise TooComplex(f"the request body has more than {MAX_VALUES:,} JSON values (no agent sends "
                             "that many; parsing them would hold up every other client)")

    def parse_object(*args: Any, **kwargs: Any) -> Any:
        found = json_object(*args, **kwargs)
        counted(len(found[0]))
        return found

    def parse_array(*args: Any, **kwargs: Any) -> Any:
        found = json_array(*args, **kwargs)
        counted(len(found[0]))
        return found

    decoder = json.JSONDecoder()
    decoder.parse_object = parse_object  # type: ignore[attr-defined]
    decoder.parse_array = parse_array  # type: ignore[attr-defined]
    decoder.scan_once = json.scanner.py_make_scanner(decoder)  # type: ignore[attr-defined]
    # While this thread parses, the interpreter changes hands every 0.5 ms instead of 5: the loop,
    # waiting for it after each socket operation, answers other clients without 5 ms steps.
    interval = sys.getswitchinterval()
    sys.setswitchinterval(min(interval, 0.0005))
    try:
        payload = decoder.decode(body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise UsageError(f"the request body is not valid JSON ({exc})") from None
    except RecursionError:
        raise UsageError("the request body is not valid JSON (nested too deeply)") from None
    finally:
        sys.setswitchinterval(interval)
    if not isinstance(payload, dict):
        raise UsageError("the request body must be a JSON object")
    return payload


def _too_large(size: int, limit: int) -> str:
    return f"request body of {size} bytes or more exceeds the limit of {limit} bytes (max_body_bytes)"


def _busy(hold: BodyHold) -> str:
    mb = hold.budget.capacity // (1024 * 1024)
    return (f"lynkr holds {mb} MB of request bodies already (serve.body_budget_mb): retry in a moment")
