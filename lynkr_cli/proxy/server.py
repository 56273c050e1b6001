"""Serving the proxy with Hypercorn on a background thread of the lynkr process.

The listening socket is bound (port 0, so the kernel picks a free port: no race) and listening before
the agent starts, so the agent's first connection is never refused; connections made while the server
is still importing its modules wait in the socket's backlog. The server thread owns its own event loop;
``stop()`` shuts it down gracefully from any thread.
"""

from __future__ import annotations

import os
import socket
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:  # asyncio costs ~40 ms to import: only the server thread imports it
    import asyncio

LOOPBACK = "127.0.0.1"


def bind_socket(host: str = LOOPBACK, port: int = 0, backlog: int = 512) -> socket.socket:
    """A listening TCP socket; port 0 lets the kernel choose a free one."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(backlog)
    sock.set_inheritable(False)
    return sock


class ProxyServer:
    """Runs an ASGI app (built lazily on the server thread) on an already bound socket."""

    def __init__(
        self,
        sock: socket.socket,
        app_factory: Callable[[], object],
        graceful_timeout: float = 5.0,
        on_failure: Callable[[BaseException], None] | None = None,
        log_path: Path | None = None,
    ):
        self.sock = sock
        self._on_failure = on_failure
        self._log_path = log_path  # None: log records go where Python sends them (stderr)
        self.host, self.port = sock.getsockname()[:2]
        self._app_factory = app_factory
        self._graceful_timeout = graceful_timeout
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._serving = threading.Event()
        self._stopped = threading.Event()
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="lynkr-proxy", daemon=True)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> None:
        self._thread.start()

    def wait_serving(self, timeout: float | None = None) -> bool:
        """Block until the server accepts requests (or failed: check ``error``)."""
        self._serving.wait(timeout)
        return self._serving.is_set() and self.error is None

    @property
    def started(self) -> bool:
        return self._serving.is_set()

    def stop(self, timeout: float = 10.0) -> None:
        """Graceful shutdown: in-flight requests get ``graceful_timeout`` to finish."""
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(stop.set)
            except RuntimeError:
                pass
        if self._thread.is_alive():
            self._thread.join(timeout)
        self.sock.close()

    # -- server thread ---------------------------------------------------------------------------
    def _run(self) -> None:
        import asyncio

        try:
            if self._log_path is not None:
                from lynkr_cli.proxy.logs import log_to_file

                log_to_file(self._log_path)
            asyncio.run(self._serve())
        except BaseException as exc:  # reported by the caller at exit
            self.error = exc
            self.sock.close()  # waiting connections are refused instead of hanging
            if self._on_failure is not None:
                self._on_failure(exc)
        finally:
            self._serving.set()
            self._stopped.set()

    async def _serve(self) -> None:
        import asyncio

        from hypercorn.asyncio import serve
        from hypercorn.config import Config

        from lynkr_cli.proxy import hypercorn_fixes

        hypercorn_fixes.apply()
        app = self._app_factory()
        config = Config()
        # Hypercorn takes ownership of (and closes) the fd it is given: give it a duplicate, so the two
        # socket objects never close each other's descriptor (a reused fd number would break an
        # unrelated connection).
        config.bind = [f"fd://{os.dup(self.sock.fileno())}"]
        config.accesslog = None
        config.errorlog = None
        config.graceful_timeout = self._graceful_timeout
        config.keep_alive_timeout = 75
        config.backlog = 512
        config.h11_max_incomplete_size = 64 * 1024
        config.include_server_header = False  # agents have no use for "server: hypercorn-h11"
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()

        async def shutdown_trigger() -> None:
            self._serving.set()
            await self._stop.wait()  # type: ignore[union-attr]

        await serve(app, config, shutdown_trigger=shutdown_trigger)  # type: ignore[arg-type]
