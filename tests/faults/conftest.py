"""A real lynkr proxy in front of a fake upstream that misbehaves on command.

``proxy_for(upstream_url, **context)`` starts the same proxy ``lynkr run`` starts (Hypercorn thread,
real SQLite ledger) and hands back a ``Proxy`` that can also count the server loop's asyncio tasks, so
each fault test can prove that nothing is left running after the fault.

Every test that uses it runs twice, once on each upstream transport (``upstream_transport``):
lynkr's own for direct connections (``proxy/wire.py``) and httpx's, which carries proxied origins.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest



@dataclass
class Proxy:
    base_url: str
    ctx: object
    ledger_path: Path
    server: object

    def tasks(self) -> list[str]:
        loop = self.server._loop  # type: ignore[attr-defined]

        async def names() -> list[str]:
            return [repr(t.get_coro()) for t in asyncio.all_tasks()]

        return asyncio.run_coroutine_threadsafe(names(), loop).result(5)

    def task_count(self) -> int:
        """Tasks alive on the proxy's event loop, counted on that loop."""
        loop = self.server._loop  # type: ignore[attr-defined]

        async def count() -> int:
            return len(asyncio.all_tasks())

        return asyncio.run_coroutine_threadsafe(count(), loop).result(5) - 1  # minus the counting task

    def settle_tasks(self, baseline: int, timeout: float = 5.0) -> int:
        """Wait until the loop is back to ``baseline`` tasks (connections closing takes a moment)."""
        deadline = time.monotonic() + timeout
        count = self.task_count()
        while count > baseline and time.monotonic() < deadline:
            time.sleep(0.05)
            count = self.task_count()
        return count

    def rows(self) -> list[dict]:
        """The request rows written so far (waits for the ledger writer)."""
        from lynkr_cli.ledger import LedgerReader

        self.ctx.ledger.flush()  # type: ignore[attr-defined]
        reader = LedgerReader(self.ledger_path)
        try:
            return reader.requests("test-session")
        finally:
            reader.close()


TRANSPORTS = ["wire", "httpx"]


@pytest.fixture(scope="module", params=TRANSPORTS)
def upstream_transport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@contextlib.contextmanager
def start_proxy(directory: Path, upstream_url: str, transport: str = "wire", **context: object) -> Iterator[Proxy]:
    """The proxy ``lynkr run`` starts, with its ledger in ``directory``."""
    from lynkr_cli.ledger import Ledger, SessionRecord
    from lynkr_cli.proxy.app import create_app
    from lynkr_cli.proxy.context import ProxyContext
    from lynkr_cli.proxy.server import ProxyServer, bind_socket

    ledger_path = directory / "ledger.sqlite3"
    ledger = Ledger(ledger_path)
    ledger.start_session(SessionRecord(id="test-session", agent="test", argv=[], cwd=".", started_at=0.0,
                                       pid=os.getpid(), lynkr_version="test"))
    from lynkr_cli.proxy.upstream import httpx_transport

    ctx = ProxyContext(session_id="test-session", anthropic_upstream=upstream_url, ledger=ledger,
                       token="fault-token", transport=httpx_transport if transport == "httpx" else None,
                       **context)  # type: ignore[arg-type]
    server = ProxyServer(bind_socket(), lambda: create_app(ctx))
    server.start()
    assert server.wait_serving(30), server.error
    try:
        yield Proxy(f"{server.url}/s/fault-token", ctx, ledger_path, server)
    finally:
        server.stop()
        ledger.finish_session("test-session", 0)
        ledger.flush()
        ledger.close()


@pytest.fixture
def proxy_for(tmp_path: Path, upstream_transport: str):
    """Factory: ``with proxy_for(url, read_timeout=1.0) as proxy: ...``."""
    return functools.partial(start_proxy, tmp_path, transport=upstream_transport)
