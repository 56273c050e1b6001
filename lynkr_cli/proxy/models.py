"""``GET /v1/models``: the models this proxy serves, in the asking client's format.

With a configured model (``--model``) the list is lynkr's own: every name in it is accepted. Without
one, the question goes to the upstream the client already uses (Anthropic for Anthropic clients,
which send ``anthropic-version``; OpenAI otherwise), answered untouched.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from starlette.responses import JSONResponse, Response

from lynkr_cli.callers import require_own_key
from lynkr_cli.errors import LynkrError
from lynkr_cli.formats import codec
from lynkr_cli.ledger import RequestRecord
from lynkr_cli.providers.base import UpstreamCall
from lynkr_cli.proxy.answers import NullScanner, Readers
from lynkr_cli.proxy.passthrough import upstream_call
from lynkr_cli.proxy.relay import join_url, relay_call
from lynkr_cli.proxy.requests import reject

if TYPE_CHECKING:
    from starlette.requests import Request

    from lynkr_cli.proxy.context import ProxyContext
    from lynkr_cli.proxy.relay import RelayResponse


async def list_models(request: Request) -> Response | RelayResponse:
    ctx: ProxyContext = request.app.state.ctx
    anthropic_client = "anthropic-version" in request.headers or "x-api-key" in request.headers
    names = ctx.router.models()
    if names:
        if anthropic_client:
            data = [{"type": "model", "id": n, "display_name": n, "created_at": "2025-01-01T00:00:00Z"} for n in names]
            return JSONResponse({"data": data, "has_more": False, "first_id": names[0], "last_id": names[-1]})
        created = int(time.time())
        return JSONResponse({"object": "list", "data": [{"id": n, "object": "model", "created": created,
                                                         "owned_by": "lynkr"} for n in names]})
    inbound = "anthropic" if anthropic_client else "openai-chat"
    record = RequestRecord(session_id=ctx.session_id, started_at=time.time(), route=request.url.path,
                           inbound_format=inbound)
    client = codec(inbound)
    try:
        if anthropic_client:
            provider = ctx.provider_set().get("anthropic")
            call = upstream_call(provider, request, join_url(provider.base_url, request.url.path, request.url.query), b"")
        else:
            provider = ctx.provider_set().get("openai")
            record.provider = provider.id
            headers = dict(request.headers)
            auth = provider.auth_headers("openai-chat", headers, "openai-chat")
            require_own_key(auth, headers)  # serve --no-token (proxy/auth.py)
            call = UpstreamCall("GET", provider.models_url() or f"{provider.base_url}/models", auth, b"",
                                "openai-chat", False)
    except LynkrError as error:
        return reject(ctx, record, error, client)
    return relay_call(ctx, call, record, Readers(NullScanner()), client)
