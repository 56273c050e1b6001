"""A workaround for Hypercorn 0.18's asyncio server keeping closed connections alive.

When a client closes an idle keep-alive connection, Hypercorn's ``TCPServer`` sees EOF, but its task
group then waits for the connection's idle-timeout task, which only ends after ``keep_alive_timeout``
(75 s here). Until then the socket stays open and three tasks stay on the loop per closed connection:
a client that opens a connection per request (curl, scripts, load tests) piles up file descriptors
(measured: every closed connection lingered the full 75 s). Stopping the idle task as soon as the
read loop ends lets the connection close at once.
"""

from __future__ import annotations

_applied = False


def apply() -> None:
    """Patch ``TCPServer._read_data`` once per process (idempotent, called by the server thread)."""
    global _applied
    if _applied:
        return
    from hypercorn.asyncio.tcp_server import TCPServer

    original = TCPServer._read_data

    async def _read_data(self: TCPServer) -> None:
        try:
            await original(self)
        finally:
            await self.idle_task.stop()

    TCPServer._read_data = _read_data  # type: ignore[method-assign]
    _applied = True
