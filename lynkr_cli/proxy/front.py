"""The one ASGI layer in front of the Starlette app, and the short way to the model-call routes.

Every request the proxy answers gets, in this order: the ``x-lynkr-cache`` header on its response
(``cache/proxy.py``), the path-traversal 404 (``proxy/guard.py``) and authentication
(``proxy/auth.py``): a request no authenticator admits gets a 401 in its API's format, reaches no
route and leaves a ledger row; an admitted one continues without lynkr's own credential (the token
in the path, ``X-Lynkr-Token``, a key header equal to the token), so no route can forward it. They
were three ASGI middlewares, each wrapping ``send`` again; one layer with one ``send`` wrapper does
the same for less per request.

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
from lynkr_cli.callers import set_current_caller
from lynkr_cli.proxy.auth import Authenticator, admitted, reject
from lynkr_cli.proxy.guard import is_api_path, refuse

Handler = Callable[[Request], Awaitable[Any]]
# Told of each request the front refuses (scope, status, reason), e.g. to write its ledger row.
Refused = Callable[[Any, int, str], None]

UNAUTHORIZED = ("lynkr: this proxy requires its token: in the base URL path (/s/<token>/...), as "
                "X-Lynkr-Token, or as the API key")


class ProxyFront:
    """ASGI: cache header, path guard and authentication around ``app``; ``hot`` POST paths
    dispatched directly to their handlers."""

    def __init__(self, app, auth: Authenticator, hot: dict[str, Handler],  # type: ignore[no-untyped-def]
                 refused: Refused | None = None) -> None:
        self.app = app
        self._auth = auth
        self._hot = hot
        self._refused = refused

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
        admission = self._auth.authenticate(scope)
        if admission is None:
            if self._refused is not None:
                self._refused(scope, 401, "unauthorized: no valid token or key")
            await reject(scope, send_marked, UNAUTHORIZED)
            return
        scope = admitted(scope, admission)
        set_current_caller(admission.caller)
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
