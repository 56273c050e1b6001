"""The one ASGI layer in front of the Starlette app, and the short way to the model-call routes.

Every request the proxy answers gets, in this order: the ``x-lynkr-cache`` header on its response
(``cache/proxy.py``), the path-traversal 404 (``proxy/guard.py``) and the session-token 401
(``proxy/auth.py``). They were three ASGI middlewares, each wrapping ``send`` again; one layer with one
``send`` wrapper does the same for less per request.

The model calls (``POST /v1/messages``, ``/v1/chat/completions``, ``/v1/responses``) are nearly every
request an agent makes. They go straight to their handler instead of through Starlette's error and
exception middlewares, router and route wrappers, keeping what those did for them: ``request.app``,
a client that leaves while sending its body gets the 499, and an unexpected error is a plain 500 (if
nothing was sent yet) and is raised on to the server, which logs it. Everything else goes to Starlette.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable

from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse, Response

from lynkr_cli.cache.proxy import attach_mark, with_cache_header
from lynkr_cli.proxy.auth import SessionToken, reject
from lynkr_cli.proxy.guard import is_api_path, refuse

Handler = Callable[[Request], Awaitable[Any]]


class ProxyFront:
    """ASGI: cache header, path guard and session token around ``app``; ``hot`` POST paths dispatched
    directly to their handlers."""

    def __init__(self, app, token: str | None, hot: dict[str, Handler]) -> None:  # type: ignore[no-untyped-def]
        self.app = app
        self._token = SessionToken(token) if token else None
        self._hot = hot

    async def __call__(self, scope, receive, send) -> None:  # type: ignore[no-untyped-def]
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        mark = attach_mark(scope)
        started = False

        async def send_marked(message) -> None:  # type: ignore[no-untyped-def]
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message = with_cache_header(message, mark)
            await send(message)

        if not is_api_path(scope):
            await refuse(send_marked)
            return
        if self._token is not None:
            inner = self._token.strip(scope)
            if inner is None:
                await reject(scope, send_marked)
                return
            scope = inner
        handler = self._hot.get(scope["path"]) if scope["method"] == "POST" else None
        if handler is None:
            await self.app(scope, receive, send_marked)
            return
        scope["app"] = self.app
        try:
            try:
                response = await handler(Request(scope, receive))
                await response(scope, receive, send_marked)
            except ClientDisconnect:  # the client left while sending its body (Starlette's handler did this)
                if started:
                    raise RuntimeError("Caught handled exception, but response already started.") from None
                await Response(status_code=499)(scope, receive, send_marked)
        except Exception:
            if not started:
                await PlainTextResponse("Internal Server Error", status_code=500)(scope, receive, send_marked)
            raise
