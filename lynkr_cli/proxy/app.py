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
from lynkr_cli.ledger import RequestRecord
from lynkr_cli.proxy.auth import authenticator_for
from lynkr_cli.proxy.context import ProxyContext
from lynkr_cli.proxy.count_tokens import count_tokens
from lynkr_cli.proxy.flow import model_call
from lynkr_cli.proxy.front import Handler, ProxyFront
from lynkr_cli.proxy.guard import OriginGuard
from lynkr_cli.proxy.models import list_models
from lynkr_cli.proxy.passthrough import passthrough
from lynkr_cli.proxy.relay import RelayResponse
from lynkr_cli.proxy.upstream import upstream_client, wire_transport


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


async def _client_disconnect(request: Request, exc: Exception) -> Response:
    return Response(status_code=499)


def create_app(ctx: ProxyContext) -> ProxyFront:
    """The ASGI app for one proxy. Opens the shared HTTP client at startup and closes it at shutdown."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        limits = httpx.Limits(max_connections=256, max_keepalive_connections=64, keepalive_expiry=60)
        ctx.client = upstream_client(httpx.create_ssl_context(trust_env=True), limits,
                                     httpx.Timeout(ctx.read_timeout, connect=ctx.connect_timeout),
                                     ctx.transport or wire_transport)
        if ctx.pipeline is not None:
            ctx.pipeline.warm()
        try:
            yield
        finally:
            await ctx.client.aclose()
            ctx.cache.close()  # store the last answers before exit

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
    hot: dict[str, Handler] = {"/v1/messages": messages, "/v1/chat/completions": chat_completions,
                               "/chat/completions": chat_completions, "/v1/responses": responses,
                               "/responses": responses}
    return ProxyFront(app, ctx.auth or authenticator_for(ctx.token), hot, OriginGuard(ctx.allowed_hosts, ctx.allowed_origins),
                      refused=lambda scope, status, reason: _record_refused(ctx, scope, status, reason),
                      bodies=ctx.bodies)


def _record_refused(ctx: ProxyContext, scope: Scope, status: int, reason: str) -> None:
    """The ledger row of a request the front refused (never its path token, right or wrong)."""
    path: str = scope["path"]
    if path.startswith("/s/"):
        path = "/s/…" + path[3:][path[3:].find("/"):] if "/" in path[3:] else "/s/…"
    ctx.record(RequestRecord(session_id=ctx.session_id, started_at=time.time(), route=path[:200], status=status,
                             error=reason, latency_ms=0.0, provider="lynkr"))
