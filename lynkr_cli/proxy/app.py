"""The Starlette application: the API routes an agent calls, behind the session-token check."""

from __future__ import annotations

import contextlib
import time
from typing import AsyncIterator

import httpx
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Scope

from lynkr_cli import __version__
from lynkr_cli.errors import LynkrError, NotFound, RequestTooLarge
from lynkr_cli.callers import require_own_key
from lynkr_cli.ledger import RequestRecord
from lynkr_cli.providers.base import UpstreamCall
from lynkr_cli.proxy.auth import authenticator_for
from lynkr_cli.proxy.context import ProxyContext
from lynkr_cli.proxy.flow import count_tokens, model_call
from lynkr_cli.proxy.front import Handler, ProxyFront
from lynkr_cli.proxy.guard import OriginGuard
from lynkr_cli.proxy.models import list_models
from lynkr_cli.proxy.relay import RelayResponse, error_response, join_url, relay_call
from lynkr_cli.proxy.wire import UpstreamClient


class _NullScanner:
    """For routes that carry no usage (count_tokens, models)."""

    model: str | None = None
    error: str | None = None
    stopped = False

    def begin(self, status: int, content_type: str | None) -> None:
        pass

    def feed(self, chunk: bytes) -> None:
        pass

    def finish(self) -> None:
        pass


async def read_body(request: Request, limit: int) -> bytes:
    """The whole request body, refused with 413 as soon as it passes ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise RequestTooLarge(_too_large(int(declared), limit))
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RequestTooLarge(_too_large(size, limit))
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(size: int, limit: int) -> str:
    return f"request body of {size} bytes or more exceeds the limit of {limit} bytes (max_body_bytes)"


def _ctx(request: Request) -> ProxyContext:
    ctx: ProxyContext = request.app.state.ctx
    return ctx


async def health(request: Request) -> Response:
    if request.method == "HEAD":
        return Response(status_code=200)
    return JSONResponse({"service": "lynkr", "version": __version__, "status": "ok"})


async def messages(request: Request) -> Response | RelayResponse:
    """``POST /v1/messages``: the agent's model calls, streamed or not."""
    return await model_call(request, "anthropic")


async def chat_completions(request: Request) -> Response | RelayResponse:
    """``POST /v1/chat/completions``: OpenAI Chat Completions clients (Cursor, Continue, SDKs)."""
    return await model_call(request, "openai-chat")


async def responses(request: Request) -> Response | RelayResponse:
    """``POST /v1/responses``: OpenAI Responses clients (Codex)."""
    return await model_call(request, "openai-responses")


async def passthrough(request: Request) -> Response | RelayResponse:
    """Any other API path (``count_tokens``, ``models``, …) goes upstream untouched."""
    ctx = _ctx(request)
    path = request.url.path
    record = RequestRecord(session_id=ctx.session_id, started_at=time.time(), route=path)
    if ".." in path.split("/") or "\\" in path:
        return _reject(ctx, record, NotFound(f"no route for {path!r}"))
    try:
        body = await read_body(request, ctx.max_body_bytes)
    except LynkrError as error:
        return _reject(ctx, record, error)
    record.request_bytes = len(body)
    url = join_url(ctx.anthropic_upstream, path, request.url.query)
    try:
        call = anthropic_call(ctx, request, url, body)
    except LynkrError as error:
        return _reject(ctx, record, error)
    return relay_call(ctx, call, record, _NullScanner())


def anthropic_call(ctx: ProxyContext, request: Request, url: str, body: bytes) -> UpstreamCall:
    """A call to the Anthropic upstream for a route lynkr does not model (``count_tokens``, model lists,
    a gateway's own endpoints): the client's headers as the Anthropic provider forwards them, with the
    key lynkr holds when the client brought none (an agent given the token as its key), and never a
    key a ``--no-token`` caller did not send."""
    client_headers = dict(request.headers)
    headers = ctx.provider_set().get("anthropic").auth_headers("anthropic", client_headers, "anthropic")
    require_own_key(headers, client_headers)
    if "content-type" in client_headers:
        headers.append(("content-type", client_headers["content-type"]))
    headers.append(("accept-encoding", "identity"))  # so usage can be read from the bytes relayed
    return UpstreamCall(request.method, url, headers, body, "anthropic", False)


def _reject(ctx: ProxyContext, record: RequestRecord, error: LynkrError) -> Response:
    record.status = error.http_status
    record.error = str(error)
    record.latency_ms = 0.0
    ctx.record(record)
    return error_response(error)


async def _client_disconnect(request: Request, exc: Exception) -> Response:
    return Response(status_code=499)


def create_app(ctx: ProxyContext):  # type: ignore[no-untyped-def]
    """The ASGI app for one proxy. Opens the shared HTTP client at startup and closes it at shutdown."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        limits = httpx.Limits(max_connections=256, max_keepalive_connections=64, keepalive_expiry=60)
        ctx.client = UpstreamClient(  # HTTP/1.1 on asyncio streams unless a proxy is set (proxy/wire.py)
            ssl_context=httpx.create_ssl_context(trust_env=True),
            limits=limits,
            timeout=httpx.Timeout(ctx.read_timeout, connect=ctx.connect_timeout),
            follow_redirects=False,
        )
        if ctx.pipeline is not None:
            ctx.pipeline.warm()
        try:
            yield
        finally:
            await ctx.client.aclose()
            close_cache = getattr(ctx.cache, "close", None)  # store the last answers before exit
            if close_cache is not None:
                close_cache()

    app = Starlette(
        routes=[
            Route("/", health, methods=["GET", "HEAD"]),
            Route("/v1/messages", messages, methods=["POST"]),
            Route("/v1/messages/count_tokens", count_tokens, methods=["POST"]),
            Route("/v1/chat/completions", chat_completions, methods=["POST"]),
            Route("/chat/completions", chat_completions, methods=["POST"]),
            Route("/v1/responses", responses, methods=["POST"]),
            Route("/responses", responses, methods=["POST"]),
            Route("/v1/models", list_models, methods=["GET"]),
            Route("/{path:path}", passthrough, methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]),
        ],
        lifespan=lifespan,
        exception_handlers={ClientDisconnect: _client_disconnect},
    )
    app.state.ctx = ctx
    hot: dict[str, Handler] = {"/v1/messages": messages, "/v1/chat/completions": chat_completions, "/chat/completions": chat_completions,
           "/v1/responses": responses, "/responses": responses}
    return ProxyFront(app, authenticator_for(ctx.token), hot, OriginGuard(ctx.allowed_hosts, ctx.allowed_origins),
                      refused=lambda scope, status, reason: _record_refused(ctx, scope, status, reason))


def _record_refused(ctx: ProxyContext, scope: Scope, status: int, reason: str) -> None:
    """The ledger row of a request the front refused (never its path token, right or wrong)."""
    path: str = scope["path"]
    if path.startswith("/s/"):
        path = "/s/…" + path[3:][path[3:].find("/"):] if "/" in path[3:] else "/s/…"
    ctx.record(RequestRecord(session_id=ctx.session_id, started_at=time.time(), route=path[:200], status=status,
                             error=reason, latency_ms=0.0, provider="lynkr"))
