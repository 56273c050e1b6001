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

    from lynkr_cli.proxy.limits import Connections

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


def raise_open_files_limit() -> int:
    """Raise this process's soft limit on open files to its hard limit (a connection costs one, and a
    proxy holds two per request in flight); the resulting soft limit."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return soft if soft != resource.RLIM_INFINITY else 1 << 20


class OncePerSecond:
    """The loop's exception handler, saying each kind of error at most once a second.

    When accepting fails for lack of descriptors, asyncio reports it for every attempt (measured:
    about 6,000 lines a second, 221 MB of stderr in 90 s); the first is logged with how many were
    left out since."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._last: dict[str, float] = {}
        self._quiet: dict[str, int] = {}

    def __call__(self, loop: asyncio.AbstractEventLoop, context: dict[str, object]) -> None:
        import time

        kind = str(context.get("message", ""))[:80]
        now = time.monotonic()
        if now - self._last.get(kind, -2.0) < 1.0:
            self._quiet[kind] = self._quiet.get(kind, 0) + 1
            return
        self._last[kind] = now
        left_out = self._quiet.pop(kind, 0)
        more = f" ({left_out} more like it in the last second not shown)" if left_out else ""
        exception = context.get("exception")
        if kind.startswith("socket.accept()") and isinstance(exception, OSError):
            # One line, no traceback: descriptors ran out, or lynkr's own cap paused accepting.
            import logging

            logging.getLogger("lynkr.proxy").warning("not accepting connections for a second: %s%s",
                                                     exception.strerror or exception, more)
            return
        loop.default_exception_handler(dict(context, message=kind + more) if more else context)


class ProxyServer:
    """Runs an ASGI app (built lazily on the server thread) on an already bound socket."""

    def __init__(
        self,
        sock: socket.socket,
        app_factory: Callable[[], object],
        graceful_timeout: float = 5.0,
        on_failure: Callable[[BaseException], None] | None = None,
        log_path: Path | None = None,
        max_connections: int | None = None,
    ):
        self.sock = sock
        self._max_connections = max_connections  # None: from the open-files limit (proxy/limits.py)
        self.connections: Connections | None = None
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

                try:
                    log_to_file(self._log_path)
                except OSError:  # LYNKR_HOME unusable: said by the ledger; the agent keeps its proxy
                    import logging

                    logging.getLogger().addHandler(logging.NullHandler())  # and its terminal stays clean
            open_files = raise_open_files_limit()  # after the agent started: it keeps its own limit
            from lynkr_cli.proxy.limits import Connections, default_cap

            self.connections = Connections(self._max_connections or default_cap(open_files))
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

        from hypercorn.asyncio.run import worker_serve
        from hypercorn.config import Config, Sockets
        from hypercorn.utils import wrap_app

        from lynkr_cli.proxy import hypercorn_fixes
        from lynkr_cli.proxy.limits import ACCEPT_BATCH, CappedListener

        hypercorn_fixes.apply()
        app = self._app_factory()
        config = Config()
        assert self.connections is not None
        hypercorn_fixes.cap_connections(config, self.connections)
        # The server owns (and closes) the listening socket it is given: a duplicate, so the two socket
        # objects never close each other's descriptor (a reused fd number would break an unrelated
        # connection). It accepts only while the connection cap has room (proxy/limits.py).
        listener = CappedListener(os.dup(self.sock.fileno()), self.connections)
        config.accesslog = None
        config.errorlog = None
        config.graceful_timeout = self._graceful_timeout
        config.keep_alive_timeout = 75
        config.backlog = ACCEPT_BATCH  # also how many connections asyncio accepts before admitting any
        config.h11_max_incomplete_size = 64 * 1024
        config.include_server_header = False  # agents have no use for "server: hypercorn-h11"
        self._loop = asyncio.get_running_loop()
        self._loop.set_exception_handler(OncePerSecond(self._loop))
        self._stop = asyncio.Event()

        async def shutdown_trigger() -> None:
            self._serving.set()
            await self._stop.wait()  # type: ignore[union-attr]

        # hypercorn.asyncio.serve() without its bind step: the listener is lynkr's own.
        await worker_serve(wrap_app(app, config.wsgi_max_body_size, None), config,  # type: ignore[arg-type]
                           sockets=Sockets([], [listener], []), shutdown_trigger=shutdown_trigger)
