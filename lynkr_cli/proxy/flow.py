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
from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from lynkr_cli.cache.proxy import cache_target, mark_decision
from lynkr_cli.callers import require_own_key
from lynkr_cli.errors import LynkrError, UsageError, anthropic_error_body, openai_error_body
from lynkr_cli.formats import codec
from lynkr_cli.formats.jsonio import parse_json_object
from lynkr_cli.ledger import RequestRecord
from lynkr_cli.proxy.components import RouteDecision, StaticRouter
from lynkr_cli.proxy.relay import error_response, relay_call
from lynkr_cli.proxy.translate import ResponseTranslator
from lynkr_cli.proxy.usage import AnthropicResponseScanner

if TYPE_CHECKING:
    from starlette.requests import Request

    from lynkr_cli.canonical import ApiFormat, ModelRequest
    from lynkr_cli.proxy.context import ProxyContext
    from lynkr_cli.proxy.relay import RelayResponse

log = logging.getLogger("lynkr.proxy")


def error_body_for(inbound: str):  # type: ignore[no-untyped-def]
    return anthropic_error_body if inbound == "anthropic" else openai_error_body


async def model_call(request: Request, inbound: ApiFormat) -> Response | RelayResponse:
    """Handle ``POST /v1/messages``, ``/v1/chat/completions`` or ``/v1/responses``."""
    from lynkr_cli.proxy.app import read_body

    ctx: ProxyContext = request.app.state.ctx
    record = RequestRecord(session_id=ctx.session_id, started_at=time.time(), route=request.url.path,
                           inbound_format=inbound)
    error_body = error_body_for(inbound)
    try:
        body = await read_body(request, ctx.max_body_bytes)
        record.request_bytes = len(body)
        payload = parse_json_object(body)
        record.model_requested = payload.get("model") if isinstance(payload.get("model"), str) else None
        record.streamed = payload.get("stream") is True
        canonical = _decode(inbound, payload, body)
        ctx.loop_guard.inspect(canonical, record)  # flags, or refuses, a run of identical tool calls
        canonical = _run_pipeline(ctx, canonical, request.headers, record)
        session = request.headers.get("x-claude-code-session-id") or ctx.session_id
        decision = _route(ctx, canonical, session, record)
        provider = ctx.provider_set().get(decision.provider)
        record.provider = provider.id
        record.model_used = decision.model
        if ctx.cache.enabled:
            target = cache_target(provider, decision.model, request.headers)
            hit = await ctx.cache.lookup(canonical, target, record)
            mark_decision(request, record)
            if hit is not None:
                served = _serve_hit(ctx, record, canonical, hit)
                if hasattr(ctx.router, "chain"):  # the tier router's x-lynkr-* headers on a cached answer too
                    from lynkr_cli.routing.proxy import response_headers

                    served.raw_headers.extend(response_headers(decision))
                return served
        else:
            record.details["cache"] = {"decision": "skip", "reason": "cache off"}
        call = _build_call(provider, canonical, decision.model, request)
    except LynkrError as error:
        return reject(ctx, record, error, error_body)
    except Exception as exc:  # a bug in lynkr: the client still gets its own format, the ledger its row
        log.exception("unexpected error on %s", record.route)
        return reject(ctx, record, LynkrError(f"internal error: {type(exc).__name__}: {exc}"), error_body)
    translated = call.wire_format != inbound or call.body is not canonical.raw
    record.details["provider"] = {"id": provider.id, "model": decision.model, "wire": call.wire_format,
                                  "translated": call.wire_format != inbound, "original_bytes": not translated}
    scanner, translator, html_translator = response_handlers(ctx, provider, call, canonical)
    response = relay_call(ctx, call, record, scanner, error_body, translator=translator)
    response.html_translator = html_translator
    if hasattr(ctx.router, "chain"):  # the tier router: retries, failover, x-lynkr-* headers
        from lynkr_cli.routing.send import attach_fallback

        attach_fallback(ctx, response, decision, canonical, dict(request.headers), request.url.query)
    if ctx.cache.enabled:
        response.on_finish = lambda: _store(ctx, canonical, target, response)
    return response


_API_NAMES = {"anthropic": "Anthropic Messages", "openai-chat": "OpenAI Chat Completions",
              "openai-responses": "OpenAI Responses"}


def _decode(inbound: ApiFormat, payload: dict[str, Any], body: bytes) -> ModelRequest:
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


def _build_call(provider: Any, canonical: ModelRequest, model: str, request: Request) -> Any:
    """The upstream call; a request whose parts cannot be translated for this provider is a 400."""
    headers = dict(request.headers)
    try:
        call = provider.build_call(canonical, model, headers, request.url.query)
    except LynkrError:
        raise
    except Exception as exc:
        log.debug("request could not be translated for %s", provider.id, exc_info=True)
        raise UsageError(f"the request could not be translated for provider {provider.id!r} "
                         f"({type(exc).__name__}: {exc})") from None
    require_own_key(call.headers, headers)  # serve --no-token: the client's own key only (proxy/auth.py)
    return call


def response_handlers(ctx: ProxyContext, provider: Any, call: Any, canonical: ModelRequest) -> tuple[Any, Any, Any]:
    """(scanner, translator, html_translator) for an answer from ``provider`` to ``call``."""
    if call.wire_format == canonical.inbound:
        # Same format: the answer's bytes go back untouched; a scanner only reads usage (and, for the
        # cache, the message) on the side.
        if canonical.inbound == "anthropic" and not ctx.cache.enabled:
            scanner: Any = AnthropicResponseScanner()
        else:
            scanner = ResponseTranslator(provider, call.wire_format, canonical, scan_only=True)
        return scanner, None, ResponseTranslator(provider, call.wire_format, canonical)
    translator = ResponseTranslator(provider, call.wire_format, canonical, keep_message=ctx.cache.enabled,
                                    model=getattr(call, "model", None))
    return translator, translator, None


def _run_pipeline(ctx: ProxyContext, request: ModelRequest, headers: Any, record: RequestRecord) -> ModelRequest:
    """The pipeline (``pipeline/hook.py``) is fail-open: an exception forwards the request unchanged."""
    if ctx.pipeline is None:
        return request
    from lynkr_cli.pipeline.hook import run_pipeline

    try:
        return run_pipeline(ctx, request, headers, record)
    except Exception as exc:  # the fail-open boundary (DESIGN: stages never break a request)
        log.warning("pipeline failed, forwarding unchanged: %s", exc)
        record.details["pipeline"] = {"error": f"{type(exc).__name__}: {exc}"}
        return request


def _route(ctx: ProxyContext, request: ModelRequest, session: str, record: RequestRecord) -> RouteDecision:
    try:
        decision = as_route_decision(ctx.router.route(request, session), request, session)
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


def as_route_decision(decision: Any, request: ModelRequest, session: str) -> RouteDecision:
    """Accept the tier router's decision shape too (``target`` None = the client's own upstream)."""
    if isinstance(decision, RouteDecision):
        return decision
    stop = getattr(decision, "stop", None)
    if isinstance(stop, LynkrError):
        raise stop
    details = decision.details() if callable(getattr(decision, "details", None)) else {}
    tier = getattr(decision, "tier", None)
    target = getattr(decision, "target", None)
    if target is None:
        default = StaticRouter().route(request, session)
        provider, model = default.provider, default.model
    else:
        provider, model = target.provider, target.model
    return RouteDecision(provider, model, tier=getattr(tier, "name", tier), score=getattr(decision, "score", None),
                         reason=getattr(decision, "reason", ""), details=details)


def reject(ctx: ProxyContext, record: RequestRecord, error: LynkrError, error_body: Any) -> Response:
    """A request that never reached an upstream: the client's error format, one ledger row."""
    record.status = error.http_status
    record.error = str(error)
    record.latency_ms = (time.time() - record.started_at) * 1000
    ctx.record(record)
    return error_response(error, error_body)


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


def _store(ctx: ProxyContext, request: ModelRequest, target: Any, response: RelayResponse) -> None:
    scanner = response.scanner
    message = getattr(scanner, "message", None)
    if message is not None and (response.record.status or 0) < 300 and not response.record.error:
        try:
            ctx.cache.store(request, target, message)
        except Exception as exc:  # a cache failure must not fail the request it tried to store
            log.warning("cache store failed: %s", exc)


async def count_tokens(request: Request) -> Response | RelayResponse:
    """``POST /v1/messages/count_tokens`` (Claude Code's ``/context``): asked of Anthropic when the run
    goes there, answered locally with lynkr's o200k estimate when ``--model`` names another provider
    (which has no such endpoint, and the user may hold no Anthropic key)."""
    from lynkr_cli.proxy.app import passthrough, read_body

    ctx: ProxyContext = request.app.state.ctx
    provider = getattr(ctx.router, "provider", None)
    if not provider or provider == "anthropic":
        return await passthrough(request)
    record = RequestRecord(session_id=ctx.session_id, started_at=time.time(), route=request.url.path,
                           provider="lynkr")
    try:
        body = await read_body(request, ctx.max_body_bytes)
        payload = parse_json_object(body)
    except LynkrError as error:
        return reject(ctx, record, error, anthropic_error_body)
    from lynkr_cli.tokens import count_request

    count = count_request(payload)
    record.request_bytes, record.status = len(body), 200
    record.details["count_tokens"] = {"estimate": "o200k", "for": provider}
    record.latency_ms = (time.time() - record.started_at) * 1000
    ctx.record(record)
    return Response(json.dumps({"input_tokens": count}).encode(), media_type="application/json")
