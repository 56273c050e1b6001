"""One model call through the proxy: inbound adapter -> pipeline -> router -> cache -> provider.

Whatever the client's API (Anthropic Messages, OpenAI Chat Completions or Responses), the request
becomes one canonical ``ModelRequest``; the pipeline may rewrite it, the router picks
``provider:model``, the cache may answer it, and otherwise the provider adapter sends it.

When the upstream speaks the client's format and nothing changed the request, the client's original
bytes go out and the answer's bytes come back untouched (only scanned for usage): Claude Code to
Anthropic costs what it cost before lynkr. Otherwise the answer is translated event by event.

Every call ends as exactly one ledger row, with the provider and model actually used, also when the
input is bad or the configuration is: the error then reaches the client in its own format.
"""

from __future__ import annotations

import json
import logging
import time
from typing import TYPE_CHECKING, Any, Mapping

from starlette.responses import Response

from lynkr_cli.cache.proxy import cache_target, mark_decision
from lynkr_cli.callers import require_own_key
from lynkr_cli.errors import LynkrError, UsageError
from lynkr_cli.formats import codec
from lynkr_cli.ledger import RequestRecord
from lynkr_cli.proxy.answers import readers_for
from lynkr_cli.proxy.failover import Failover
from lynkr_cli.proxy.relay import relay_call
from lynkr_cli.proxy.intake import parse_body
from lynkr_cli.proxy.requests import read_body, reject
from lynkr_cli.routing.decision import RouteDecision
from lynkr_cli.routing.static import StaticRouter

if TYPE_CHECKING:
    from starlette.requests import Request

    from lynkr_cli.cache.key import Target
    from lynkr_cli.canonical import ApiFormat, ModelRequest
    from lynkr_cli.providers.base import HttpProvider, UpstreamCall
    from lynkr_cli.proxy.context import ProxyContext
    from lynkr_cli.proxy.relay import RelayResponse

log = logging.getLogger("lynkr.proxy")


async def model_call(request: Request, inbound: ApiFormat) -> Response | RelayResponse:
    """Handle ``POST /v1/messages``, ``/v1/chat/completions`` or ``/v1/responses``."""
    ctx: ProxyContext = request.app.state.ctx
    # The scope's path and query, not ``request.url``: building that URL object costs more than it is
    # worth on every model call.
    path, query = request.scope["path"], request.scope["query_string"].decode("latin-1")
    record = RequestRecord(session_id=ctx.session_id, started_at=time.time(), route=path, inbound_format=inbound)
    client = codec(inbound)
    try:
        body = await read_body(request, ctx.max_body_bytes)
        record.request_bytes = len(body)
        payload = await parse_body(request, body)  # bounded: proxy/intake.py
        record.model_requested = payload.get("model") if isinstance(payload.get("model"), str) else None
        record.streamed = payload.get("stream") is True
        canonical = decode_request(inbound, payload, body)
        # Checks on the request as the client sent it (a LynkrError refuses it in the client's format):
        ctx.loop_guard.inspect(canonical, record)  # flags, or refuses, a run of identical tool calls
        canonical = _run_pipeline(ctx, canonical, request.headers, record)
        session = request.headers.get("x-claude-code-session-id") or ctx.session_id
        decision = route(ctx, canonical, session, record)
        provider = ctx.provider_set().get(decision.provider)
        record.provider = provider.id
        record.model_used = decision.model
        await ctx.limits.check(canonical, decision)  # a user key's models, rate and budgets (keys/limits.py)
        target = cache_target(provider, decision.model, request.headers) if ctx.cache.enabled else None
        if target is not None:
            hit = await ctx.cache.lookup(canonical, target, record)
            mark_decision(request, record)
            if hit is not None:
                served = _serve_hit(ctx, record, canonical, hit)
                served.raw_headers.extend(ctx.router.response_headers(decision))
                return served
        else:
            record.details["cache"] = {"decision": "skip", "reason": "cache off"}
        client_headers = dict(request.headers)
        call = _build_call(provider, canonical, decision.model, client_headers, query)
    except LynkrError as error:
        return reject(ctx, record, error, client)
    except Exception as exc:  # a bug in lynkr: the client still gets its own format, the ledger its row
        log.exception("unexpected error on %s", record.route)
        return reject(ctx, record, LynkrError(f"internal error: {type(exc).__name__}: {exc}"), client)
    translated = call.wire_format != inbound or call.body is not canonical.raw
    record.details["provider"] = {"id": provider.id, "model": decision.model, "wire": call.wire_format,
                                  "translated": call.wire_format != inbound, "original_bytes": not translated}
    readers = readers_for(provider, call, canonical, ctx.cache.enabled)
    response = relay_call(ctx, call, record, readers, client)
    response.extra_headers = ctx.router.response_headers(decision)
    response.failover = Failover.for_call(ctx, decision, response.upstream_request, canonical, client_headers,
                                          query, record)
    if target is not None:
        response.on_finish = lambda: _store(ctx, canonical, target, response)
    return response


_API_NAMES = {"anthropic": "Anthropic Messages", "openai-chat": "OpenAI Chat Completions",
              "openai-responses": "OpenAI Responses"}


def decode_request(inbound: ApiFormat, payload: dict[str, Any], body: bytes) -> ModelRequest:
    """The canonical request; a body of the wrong shape (``"messages": 5``, ``"tools": [5]`` …) is the
    client's 400 in its own format, with a ledger row, not a bare 500 from deep in a decoder."""
    try:
        return codec(inbound).decode_request(payload, body)
    except LynkrError:
        raise
    except Exception as exc:  # the decoders assume the API's types; a wrong one surfaces here
        log.debug("request could not be read as %s", inbound, exc_info=True)
        raise UsageError(f"the request does not fit the {_API_NAMES.get(inbound, inbound)} API "
                         f"({type(exc).__name__}: {exc})") from None


def _build_call(provider: HttpProvider, canonical: ModelRequest, model: str, headers: Mapping[str, str],
                query: str) -> UpstreamCall:
    """The upstream call; a request whose parts cannot be translated for this provider is a 400."""
    try:
        call = provider.build_call(canonical, model, headers, query)
    except LynkrError:
        raise
    except Exception as exc:
        log.debug("request could not be translated for %s", provider.id, exc_info=True)
        raise UsageError(f"the request could not be translated for provider {provider.id!r} "
                         f"({type(exc).__name__}: {exc})") from None
    require_own_key(call.headers, headers)  # serve --no-token: the client's own key only (proxy/auth.py)
    return call


def _run_pipeline(ctx: ProxyContext, request: ModelRequest, headers: Mapping[str, str],
                  record: RequestRecord) -> ModelRequest:
    """The pipeline (``pipeline/hook.py``) is fail-open: an exception forwards the request unchanged."""
    if ctx.pipeline is None:
        return request
    from lynkr_cli.pipeline.hook import run_pipeline

    try:
        return run_pipeline(ctx.pipeline, request, headers, record, ctx.session_id)
    except Exception as exc:  # the fail-open boundary (DESIGN: stages never break a request)
        log.warning("pipeline failed, forwarding unchanged: %s", exc)
        record.details["pipeline"] = {"error": f"{type(exc).__name__}: {exc}"}
        return request


def route(ctx: ProxyContext, request: ModelRequest, session: str, record: RequestRecord) -> RouteDecision:
    """The router's decision, stored in the ledger row; a router bug routes to the client's upstream."""
    try:
        decision = ctx.router.route(request, session)
    except LynkrError:
        raise
    except Exception as exc:  # a router bug must not take the session down: use the client's upstream
        log.warning("router failed, using the default route: %s", exc)
        default = StaticRouter().route(request, session)
        decision = RouteDecision(default.provider, default.model, reason=f"router error: {exc}")
    if not decision.model:
        raise UsageError("the request names no model and none is configured (use --model PROVIDER:MODEL)")
    record.details["route"] = decision.as_dict()
    return decision


def _serve_hit(ctx: ProxyContext, record: RequestRecord, request: ModelRequest, message: dict[str, Any]) -> Response:
    """A cached answer, rendered in the client's format (a stream if it asked for one)."""
    from lynkr_cli.formats.events import message_events

    client = codec(request.inbound)
    if request.stream:
        encoder = client.stream_encoder(request)
        body = b"".join(encoder.encode(e) for e in message_events(message))
        media = encoder.media_type
    else:
        body = json.dumps(client.encode_message(message, request), ensure_ascii=False).encode()
        media = "application/json"
    record.status = 200
    record.model_used = message.get("model") or record.model_used
    record.response_bytes = len(body)
    record.latency_ms = (time.time() - record.started_at) * 1000
    record.details.setdefault("cache", {"hit": True})
    ctx.record(record)
    return Response(body, status_code=200, media_type=media)


def _store(ctx: ProxyContext, request: ModelRequest, target: Target, response: RelayResponse) -> None:
    message = response.scanner.message
    if message is not None and (response.record.status or 0) < 300 and not response.record.error:
        try:
            ctx.cache.store(request, target, message)
        except Exception as exc:  # a cache failure must not fail the request it tried to store
            log.warning("cache store failed: %s", exc)
