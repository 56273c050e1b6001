"""Where lynkr adjusts Hypercorn 0.18's asyncio server (pinned), each for a measured reason.

1. Closed connections kept alive. When a client closes an idle keep-alive connection, Hypercorn's
   ``TCPServer`` sees EOF, but its task group then waits for the connection's idle-timeout task, which
   only ends after ``keep_alive_timeout`` (75 s here). Until then the socket stays open and three tasks
   stay on the loop per closed connection: a client that opens a connection per request (curl,
   scripts, load tests) piled up file descriptors. Stopping the idle task as soon as the read loop
   ends lets the connection close at once.
2. No cap on connections. Hypercorn accepts until the process runs out of file descriptors (measured:
   1,100 stalled uploads at a 1,024 limit locked every client out). Each connection now takes a slot in
   its server's ``Connections`` (``proxy/limits.py``) first: at the cap the least active idle or
   stalled connection is closed to make room, and only when all are being answered is the new one
   refused with a 503.
3. HTTP/2 turned off. Hypercorn switches a plain-text connection to HTTP/2 on the ``PRI *`` preface or
   an ``Upgrade: h2c`` request. No agent or SDK speaks HTTP/2 to an ``http://`` base URL, and its
   multiplexed streams would multiply every per-connection bound; the upgrade header is ignored
   (allowed by RFC 9110) and the preface answered with 505 and the connection closed.

Hypercorn keeps one ``Config`` per server; the connection cap is found through it (``cap_connections``).
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hypercorn.config import Config

    from lynkr_cli.proxy.limits import Connections

_applied = False
_CAPS: weakref.WeakKeyDictionary[Config, Connections] = weakref.WeakKeyDictionary()
_BUSY = (b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\nretry-after: 1\r\n"
         b"connection: close\r\ncontent-length: 40\r\n\r\nlynkr: too many open connections, retry\n")


def cap_connections(config: Config, connections: Connections) -> None:
    """Connections accepted by the server running with ``config`` take a slot in ``connections``."""
    _CAPS[config] = connections


def apply() -> None:
    """Patch Hypercorn's connection and HTTP/1.1 protocol classes once per process (idempotent)."""
    global _applied
    if _applied:
        return
    from hypercorn.asyncio.tcp_server import TCPServer
    from hypercorn.protocol.h11 import H11Protocol

    read_data = TCPServer._read_data
    run = TCPServer.run

    async def _read_data(self: TCPServer) -> None:
        try:
            await read_data(self)
        finally:
            await self.idle_task.stop()

    async def capped_run(self: TCPServer) -> None:
        connections = _CAPS.get(self.config)
        if connections is None:
            await run(self)
            return
        transport = self.writer.transport
        connection = connections.admit(transport.abort)
        if connection is None:
            self.writer.write(_BUSY)
            self.writer.close()
            return
        token = connections.enter(connection)
        try:
            await run(self)
        finally:
            connections.leave(connection)
            token.var.reset(token)

    async def http11_only(self: Any, event: Any) -> None:
        if event.method == b"PRI" and event.target == b"*":
            await self._send_error_response(505)
            raise ConnectionAbortedError("HTTP/2 is not served")  # an OSError: TCPServer closes quietly
        # An ``Upgrade: h2c`` request is answered in HTTP/1.1, its upgrade header ignored.

    TCPServer._read_data = _read_data  # type: ignore[method-assign]
    TCPServer.run = capped_run  # type: ignore[method-assign]
    H11Protocol._check_protocol = http11_only  # type: ignore[method-assign]
    _applied = True
