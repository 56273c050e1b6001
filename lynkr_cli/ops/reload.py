"""Live reload: SIGHUP rebuilds the proxy from the config as it is now, without dropping a request.

``Reloadable`` is the ASGI app the server runs; it passes each request to the current *generation*
(one proxy app, with its own HTTP client, router, pipeline and cache). A reload builds the next
generation off the event loop, starts it (its lifespan), and makes it current: new requests go to it,
while requests the old one is answering (a stream can last minutes) finish there; the old generation
is shut down (its HTTP client closed) when its last request ends. A config that does not load
leaves the current generation serving, and says why.

What a reload cannot change: the address, the token and the storage URL (they are the process's).
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import Future
from typing import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("lynkr.serve")


class _Generation:
    """One proxy app and its lifespan, driven by hand (the server drives only the outer app's)."""

    def __init__(self, app: ASGIApp, number: int) -> None:
        self.app = app
        self.number = number
        self.in_flight = 0
        self.retired = False
        self.idle = asyncio.Event()
        self._to_app: asyncio.Queue[Message] = asyncio.Queue()
        self._from_app: asyncio.Queue[Message] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        async def receive() -> Message:
            return await self._to_app.get()

        async def send(message: Message) -> None:
            await self._from_app.put(message)

        scope: Scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": {}}

        async def run() -> None:
            await self.app(scope, receive, send)

        self._task = asyncio.create_task(run())
        await self._to_app.put({"type": "lifespan.startup"})
        answer = await self._from_app.get()
        if answer["type"] != "lifespan.startup.complete":
            raise RuntimeError(answer.get("message") or "the proxy did not start")

    async def stop(self) -> None:
        if self._task is None or self._task.done():
            return
        await self._to_app.put({"type": "lifespan.shutdown"})
        await self._from_app.get()
        await self._task

    def enter(self) -> None:
        self.in_flight += 1
        self.idle.clear()

    def leave(self) -> None:
        self.in_flight -= 1
        if self.in_flight == 0:
            self.idle.set()


class Reloadable:
    """The outer ASGI app: lifespan of the current generation, requests counted per generation."""

    def __init__(self, build: Callable[[], ASGIApp], on_reload: Callable[[int], None] | None = None) -> None:
        self._build = build
        self._on_reload = on_reload
        self._loop: asyncio.AbstractEventLoop | None = None
        self._draining: set[_Generation] = set()
        self._lock: asyncio.Lock | None = None
        self.generation = 1
        self._current_app = build()
        self._current: _Generation | None = None

    @property
    def in_flight(self) -> int:
        current = self._current.in_flight if self._current is not None else 0
        return current + sum(g.in_flight for g in self._draining)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        generation = self._current
        if generation is None:  # no lifespan (a test client): serve the first app as it is
            await self._current_app(scope, receive, send)
            return
        generation.enter()
        try:
            await generation.app(scope, receive, send)
        finally:
            generation.leave()

    def reload_threadsafe(self) -> Future[str]:
        """Reload from another thread (the signal handler's); the future says what happened."""
        if self._loop is None:
            raise RuntimeError("the proxy is not serving yet")
        return asyncio.run_coroutine_threadsafe(self.reload(), self._loop)

    async def reload(self) -> str:
        """Build and start the next generation, make it current, retire the old one."""
        assert self._lock is not None
        async with self._lock:
            try:
                app = await asyncio.to_thread(self._build)
                fresh = _Generation(app, self.generation + 1)
                await fresh.start()
            except Exception as exc:  # a bad config: keep serving with the one that works
                log.error("reload failed, still serving the previous configuration: %s", exc)
                return f"reload failed, still serving the previous configuration: {exc}"
            old, self._current = self._current, fresh
            self.generation = fresh.number
            if old is not None:
                old.retired = True
                self._draining.add(old)
                asyncio.get_running_loop().create_task(self._retire(old))
        if self._on_reload is not None:
            self._on_reload(self.generation)
        return f"reloaded the configuration (generation {self.generation})"

    async def _retire(self, old: _Generation) -> None:
        if old.in_flight:
            await old.idle.wait()
        self._draining.discard(old)
        await old.stop()

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        message = await receive()
        assert message["type"] == "lifespan.startup"
        self._loop = asyncio.get_running_loop()
        self._lock = asyncio.Lock()
        try:
            first = _Generation(self._current_app, 1)
            await first.start()
            self._current = first
        except Exception as exc:
            await send({"type": "lifespan.startup.failed", "message": str(exc)})
            return
        await send({"type": "lifespan.startup.complete"})
        message = await receive()
        assert message["type"] == "lifespan.shutdown"
        for generation in [*self._draining, *([self._current] if self._current else [])]:
            await generation.stop()
        await send({"type": "lifespan.shutdown.complete"})


