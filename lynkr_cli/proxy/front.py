"""The one ASGI layer in front of the Starlette app, and the short way to the model-call routes.

Every request the proxy answers passes, in this order:

1. the ``x-lynkr-cache`` header on its response (``cache/proxy.py``);
2. the path guard: dot segments, backslashes, control characters are a 404 (``proxy/guard.py``);
3. the origin guard: a Host that is not this proxy's (DNS rebinding) or a web page's Origin is a 403
   (``proxy/guard.py``); a configured origin's CORS preflight is answered here;
4. authentication: a request no authenticator admits is a 401 (``proxy/auth.py``); an admitted one
   continues without lynkr's own credential (the token in the path, ``X-Lynkr-Token``, a key header
   equal to the token), so no route can forward it, and with its caller set (``callers.py``);
5. a JSON route (model calls, ``count_tokens``) refuses a body not declared JSON (415);
6. session headers longer than any real one are replaced by their hash, so per-session state stays small;
7. the request gets its share of the body budget (``proxy/limits.py``), given back when it ends, and
   its connection's progress is reported (the connection cap evicts stalled connections first).

Each refusal is in the client's API format and leaves a ledger row (``refused``). They were three
ASGI middlewares, each wrapping ``send`` again; one layer with one ``send`` wrapper does the same for
less per request.

The model calls (``POST /v1/messages``, ``/v1/chat/completions``, ``/v1/responses``) are nearly every
request an agent makes. They go straight to their handler instead of through Starlette's error and
exception middlewares, router and route wrappers, keeping what those did for them: ``request.app``,
a client that leaves while sending its body gets the 499, and an unexpected error is a plain 500 (if
nothing was sent yet) and is raised on to the server, which logs it. Everything else goes to Starlette.
"""

from __future__ import annotations

import hashlib
from typing import Any, Awaitable, Callable

from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lynkr_cli.cache.proxy import attach_mark, with_cache_header
from lynkr_cli.callers import set_current_caller
from lynkr_cli.errors import anthropic_error_body, openai_error_body
from lynkr_cli.proxy.auth import Authenticator, admitted
from lynkr_cli.proxy.guard import OriginGuard, cors_preflight, is_api_path, is_json, refuse
from lynkr_cli.proxy.intake import HOLD_KEY
from lynkr_cli.proxy.limits import BodyBudget, BodyHold, progress

Handler = Callable[[Request], Awaitable[Any]]
# Told of each request the front refuses (scope, status, reason), e.g. to write its ledger row.
Refused = Callable[[Any, int, str], None]

UNAUTHORIZED = ("lynkr: this proxy requires its token: in the base URL path (/s/<token>/...), as "
                "X-Lynkr-Token, or as the API key")
NOT_JSON = "lynkr: this route takes a JSON body: send Content-Type: application/json"
JSON_ROUTES = frozenset({"/v1/messages", "/v1/messages/count_tokens", "/v1/chat/completions", "/chat/completions",
                         "/v1/responses", "/responses"})
# Headers that name a client's session (Claude Code, Codex): lynkr keys per-session state by them.
SESSION_HEADERS = (b"x-claude-code-session-id", b"session_id", b"conversation_id")
MAX_SESSION_ID = 128
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_ERRORS = {401: ("authentication_error", "invalid_request_error", "invalid_api_key"),
           403: ("permission_error", "invalid_request_error", "forbidden"),
           415: ("invalid_request_error", "invalid_request_error", "unsupported_media_type")}


class ProxyFront:
    """ASGI: cache header, guards and authentication around ``app``; ``hot`` POST paths dispatched
    directly to their handlers."""

    def __init__(self, app: ASGIApp, auth: Authenticator, hot: dict[str, Handler],
                 guard: OriginGuard | None = None, refused: Refused | None = None,
                 bodies: BodyBudget | None = None) -> None:
        self.app = app
        self._bodies = bodies or BodyBudget()
        self._auth = auth
        self._hot = hot
        self._guard = guard or OriginGuard()
        self._refused = refused
        # Told of each admitted request before it is handled (``lynkr serve`` names its client there).
        self.observe: Callable[[Any], None] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        mark = attach_mark(scope)
        started = False
        cors = self._guard.allowed_origin(scope["headers"])

        async def send_marked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message = with_cache_header(message, mark)
                if cors is not None:
                    message["headers"] = [*message["headers"], (b"access-control-allow-origin", cors),
                                          (b"vary", b"origin")]
            await send(message)

        if not is_api_path(scope):
            await refuse(send_marked)
            return
        refusal = self._guard.refusal(scope["headers"])
        if refusal is not None:
            await self._refuse(scope, send_marked, 403, refusal)
            return
        if cors is not None and scope["method"] == "OPTIONS":
            await send_marked({"type": "http.response.start", "status": 204,
                               "headers": cors_preflight(cors, scope["headers"])})
            await send_marked({"type": "http.response.body", "body": b""})
            return
        admission = self._auth.authenticate(scope)
        if admission is None:
            await self._refuse(scope, send_marked, 401, UNAUTHORIZED)
            return
        scope = admitted(scope, admission)
        set_current_caller(admission.caller)
        if scope["method"] == "POST" and scope["path"] in JSON_ROUTES and not is_json(scope["headers"]):
            await self._refuse(scope, send_marked, 415, NOT_JSON)
            return
        scope["headers"] = bounded_session_headers(scope["headers"])
        if self.observe is not None:
            self.observe(scope)
        hold = scope[HOLD_KEY] = BodyHold(self._bodies)  # given back below, whatever happens
        progress(busy=scope["method"] not in _BODY_METHODS)
        try:
            await self._dispatch(scope, receive, send_marked, lambda: started)
        finally:
            hold.release()
            progress(busy=False)

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send, started: Callable[[], bool]) -> None:
        handler = self._hot.get(scope["path"]) if scope["method"] == "POST" else None
        if handler is None:
            await self.app(scope, receive, send)
            return
        scope["app"] = self.app
        try:
            try:
                response = await handler(Request(scope, receive))
                await response(scope, receive, send)
            except ClientDisconnect:  # the client left while sending its body (Starlette's handler did this)
                if started():
                    raise RuntimeError("Caught handled exception, but response already started.") from None
                await Response(status_code=499)(scope, receive, send)
        except Exception:
            if not started():
                await PlainTextResponse("Internal Server Error", status_code=500)(scope, receive, send)
            raise

    async def _refuse(self, scope: Scope, send: Send, status: int, message: str) -> None:
        """A refusal in the path's API format (OpenAI's for its routes, Anthropic's otherwise), recorded."""
        if self._refused is not None:
            self._refused(scope, status, message.removeprefix("lynkr: "))
        anthropic_type, openai_type, code = _ERRORS[status]
        path = scope["path"]
        if "/chat/completions" in path or "/responses" in path or "/embeddings" in path:
            body = openai_error_body(message, openai_type, code)
        else:
            body = anthropic_error_body(message, anthropic_type)
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


def bounded_session_headers(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """``headers`` with any session id longer than ``MAX_SESSION_ID`` bytes replaced by its SHA-256
    (real ones are UUIDs): the pipeline, the router and ``lynkr serve`` keep state per session id,
    and a client sending a new 50 KB id per request must not make that state 50 KB a session."""
    for name, value in headers:
        if len(value) > MAX_SESSION_ID and name in SESSION_HEADERS:
            return [(k, b"sha256:" + hashlib.sha256(v).hexdigest().encode()
                     if k in SESSION_HEADERS and len(v) > MAX_SESSION_ID else v) for k, v in headers]
    return headers
