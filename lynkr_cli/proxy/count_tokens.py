"""``POST /v1/messages/count_tokens`` (Claude Code's ``/context`` and its compaction checks): asked of
the provider the conversation is routed to when that provider has the API (Anthropic), answered by
lynkr otherwise (Ollama, OpenRouter, OpenAI … have no such endpoint, and the user may hold no
Anthropic key): an o200k estimate in Anthropic's format, marked as an estimate in the ledger row.

The router is asked where the request *would* go (``Router.preview``): counting must not start a
turn or spend a budget.
"""

from __future__ import annotations

import json
import logging
import time
from typing import TYPE_CHECKING

from starlette.responses import Response

from lynkr_cli.errors import LynkrError
from lynkr_cli.formats import codec
from lynkr_cli.ledger import RequestRecord
from lynkr_cli.proxy.answers import NullScanner, Readers
from lynkr_cli.proxy.flow import decode_request
from lynkr_cli.proxy.passthrough import upstream_call
from lynkr_cli.proxy.relay import join_url, relay_call
from lynkr_cli.proxy.intake import parse_body
from lynkr_cli.proxy.requests import read_body, reject
from lynkr_cli.routing.static import StaticRouter

if TYPE_CHECKING:
    from starlette.requests import Request

    from lynkr_cli.canonical import ModelRequest
    from lynkr_cli.proxy.context import ProxyContext
    from lynkr_cli.proxy.relay import RelayResponse
    from lynkr_cli.routing.decision import RouteDecision

log = logging.getLogger("lynkr.proxy")


async def count_tokens(request: Request) -> Response | RelayResponse:
    ctx: ProxyContext = request.app.state.ctx
    record = RequestRecord(session_id=ctx.session_id, started_at=time.time(), route=request.url.path,
                           inbound_format="anthropic")
    client = codec("anthropic")
    try:
        body = await read_body(request, ctx.max_body_bytes)
        record.request_bytes = len(body)
        payload = await parse_body(request, body)  # bounded: proxy/intake.py
        decision = _preview(ctx, decode_request("anthropic", payload, body))
        provider = ctx.provider_set().get(decision.provider)
        if provider.counts_tokens:
            url = join_url(provider.base_url, request.url.path, request.url.query)
            call = upstream_call(provider, request, url, body)
    except LynkrError as error:
        return reject(ctx, record, error, client)
    if provider.counts_tokens:
        record.provider = provider.id
        return relay_call(ctx, call, record, Readers(NullScanner()), client)
    from lynkr_cli.tokens import count_request

    count = count_request(payload)
    record.provider, record.status = "lynkr", 200
    record.details["count_tokens"] = {"estimate": "o200k", "for": f"{decision.provider}:{decision.model}"}
    record.latency_ms = (time.time() - record.started_at) * 1000
    ctx.record(record)
    return Response(json.dumps({"input_tokens": count}).encode(), media_type="application/json")


def _preview(ctx: ProxyContext, request: ModelRequest) -> RouteDecision:
    try:
        return ctx.router.preview(request)
    except Exception as exc:  # a router bug must not break /context: count where the client points
        log.warning("router failed on count_tokens, using the default route: %s", exc)
        return StaticRouter().preview(request)
