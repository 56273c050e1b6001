"""What the proxy holds for its clients, bounded: request bodies in memory and open connections.

Hostile or broken clients (measured before these bounds: 1,100 stalled uploads locked every client
out at a 1,024 open-files limit; eight parallel 30 MB bodies reached 1.8 GB) meet two budgets:

- ``BodyBudget``: one byte budget for the request bodies all requests hold at once (256 MB by
  default), counting what parsing a body will add. A body that does not fit is refused with 503 and
  ``retry-after``; each request gives its share back when it ends (``BodyHold``).
- ``Connections``: a cap on open client connections, below the open-files limit. At the cap, a new
  connection closes the connection that has gone longest without progress and is not being answered
  (an idle keep-alive or a stalled upload), so a stalled crowd cannot lock a working client out; only
  when every connection is being answered is the new one refused (503). Progress is reported by the
  request path (``current_connection``).

Everything here runs on the proxy's event loop thread (standard library only).
"""

from __future__ import annotations

import contextvars
import errno
import socket
import time
from typing import Callable

MB = 1024 * 1024
DEFAULT_BODY_BUDGET = 256 * MB
# What parsing adds per JSON value, measured: 10^6 two-key messages (3 x 10^6 values) parsed into 196 MB.
PARSED_BYTES_PER_VALUE = 64


class BodyBudget:
    """Bytes of request bodies (and their parsed form) held at once, across all requests."""

    def __init__(self, capacity: int = DEFAULT_BODY_BUDGET) -> None:
        self.capacity = capacity
        self.held = 0

    def take(self, amount: int) -> bool:
        """Reserve ``amount`` bytes; False (nothing reserved) when they do not fit."""
        if self.held + amount > self.capacity:
            return False
        self.held += amount
        return True

    def give(self, amount: int) -> None:
        self.held = max(0, self.held - amount)


class BodyHold:
    """One request's share of the budget; the proxy's front gives it back when the request ends."""

    __slots__ = ("budget", "amount")

    def __init__(self, budget: BodyBudget) -> None:
        self.budget = budget
        self.amount = 0

    def take(self, amount: int) -> bool:
        if self.budget.take(amount):
            self.amount += amount
            return True
        return False

    def give(self, amount: int) -> None:
        amount = min(amount, self.amount)
        self.amount -= amount
        self.budget.give(amount)

    def release(self) -> None:
        self.give(self.amount)


class Connection:
    """One client connection: when it last made progress, and whether it is being answered."""

    __slots__ = ("abort", "since", "busy", "owner")

    def __init__(self, abort: Callable[[], None], owner: Connections) -> None:
        self.abort = abort
        self.since = time.monotonic()
        self.busy = False
        self.owner = owner


_CONNECTION: contextvars.ContextVar[Connection | None] = contextvars.ContextVar("lynkr_connection", default=None)


def current_connection() -> Connection | None:
    """The connection the request being handled came on (None outside a capped server)."""
    return _CONNECTION.get()


class Connections:
    """The open client connections of one server, at most ``cap`` of them."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self._open: dict[Connection, None] = {}  # least recent progress first
        self.pending = 0  # accepted, not admitted yet
        self.evicted = 0
        self.refused = 0
        self._noted = -1.0

    def __len__(self) -> int:
        return len(self._open)

    def may_accept(self) -> bool:
        return len(self._open) + self.pending < self.cap + SLACK

    def admit(self, abort: Callable[[], None]) -> Connection | None:
        """A slot for a new connection, made by closing the least recently active connection that is
        not being answered if the cap is reached; None when every open connection is being answered."""
        self.pending = max(0, self.pending - 1)
        if len(self._open) >= self.cap:
            victim = next((c for c in self._open if not c.busy), None)
            if victim is None:
                self.refused += 1
                self._note("refused a new connection with 503: all %d open connections are being answered")
                return None
            self.leave(victim)
            self.evicted += 1
            self._note("closed the least active idle or stalled connection to admit a new one (cap %d)")
            victim.abort()
        connection = Connection(abort, self)
        self._open[connection] = None
        return connection

    def _note(self, message: str) -> None:
        """Say it at most once a second (a crowd of connections would otherwise fill the log)."""
        now = time.monotonic()
        if now - self._noted >= 1.0:
            self._noted = now
            import logging

            logging.getLogger("lynkr.proxy").warning("connection cap: " + message, self.cap)

    def enter(self, connection: Connection) -> contextvars.Token[Connection | None]:
        """Make ``connection`` the current one for the task serving it (and the request tasks it starts)."""
        return _CONNECTION.set(connection)

    def leave(self, connection: Connection) -> None:
        self._open.pop(connection, None)

    def progress(self, connection: Connection, busy: bool | None = None) -> None:
        """``connection`` made progress (a request arrived, body bytes came, an answer ended)."""
        connection.since = time.monotonic()
        if busy is not None:
            connection.busy = busy
        if connection in self._open:
            del self._open[connection]
            self._open[connection] = None


def progress(busy: bool | None = None) -> None:
    """Report progress on the current request's connection (no-op outside a capped server)."""
    connection = _CONNECTION.get()
    if connection is not None:
        connection.owner.progress(connection, busy)


ACCEPT_BATCH = 128  # the listen backlog (asyncio also accepts up to this many in one go)
SLACK = 32  # connections accepted beyond the cap, to be told 503 or to replace an evicted one


def default_cap(open_files: int) -> int:
    """Connections to allow under an open-files limit: room is left for the slack, the upstream pool
    (256), the ledger, caches and logs, so the cap is reached before descriptors run out."""
    return max(16, min(10_000, open_files - SLACK - 256 - 64))


class CappedListener(socket.socket):
    """The listening socket handed to the server: it accepts only while ``connections`` has room.

    asyncio accepts a batch of connections before any of them reaches the server's code (measured:
    a crowd of 1,100 ran a 1,024 limit out of descriptors with the cap at 576). This socket refuses to
    accept past the cap plus a small slack until those are admitted (each admission closes a stalled
    connection or answers 503), a loop turn later: descriptors never run out. Should the process run
    out anyway, asyncio pauses accepting for a second, and this socket makes it say so once.
    """

    def __init__(self, fileno: int, connections: Connections) -> None:
        super().__init__(fileno=fileno)
        self.connections = connections
        self._paused_until = 0.0

    def accept(self):  # type: ignore[no-untyped-def]
        # asyncio keeps calling accept() for the rest of its batch after an EMFILE, logging and
        # scheduling a resume each time (the measured storm of log lines): once paused, the rest of
        # the batch is told "nothing waiting", which ends it.
        if time.monotonic() < self._paused_until:
            raise BlockingIOError(errno.EAGAIN, "accepting is paused")
        if not self.connections.may_accept():  # wait a loop turn: the accepted ones are being admitted
            raise BlockingIOError(errno.EAGAIN, "the connection cap is full until the accepted ones are admitted")
        try:
            accepted = super().accept()
        except OSError as exc:
            if exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                self._paused_until = time.monotonic() + 0.9  # asyncio resumes after 1 s
            raise
        self.connections.pending += 1
        return accepted

