"""``GET /v1/models``: the models this proxy serves, in the asking client's format.

With a configured model (``--model``, tiers) the list is lynkr's own: every name in it is accepted.
Without one, the question goes to the upstream the client already uses (Anthropic for Anthropic
clients, which send ``anthropic-version``; OpenAI otherwise), answered untouched.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from starlette.responses import JSONResponse, Response

from lynkr_cli.errors import LynkrError
from lynkr_cli.ledger import RequestRecord

if TYPE_CHECKING:
    from starlette.requests import Request

    from lynkr_cli.proxy.relay import RelayResponse


def configured_models(router: object) -> list[str]:
    """Model names the router serves: its ``models()`` if it has one, else the ``--model``."""
    listing = getattr(router, "models", None)
    if callable(listing):
        return list(listing())
    model = getattr(router, "model", None)
    return [model] if isinstance(model, str) and model else []


async def list_models(request: Request) -> Response | RelayResponse:
    from lynkr_cli.callers import require_own_key
    from lynkr_cli.proxy.flow import error_body_for, reject
    from lynkr_cli.proxy.relay import join_url, relay_call
    from lynkr_cli.providers.base import UpstreamCall

    ctx = request.app.state.ctx
    anthropic_client = "anthropic-version" in request.headers or "x-api-key" in request.headers
    names = configured_models(ctx.router)
    if names:
        if anthropic_client:
            data = [{"type": "model", "id": n, "display_name": n, "created_at": "2025-01-01T00:00:00Z"} for n in names]
            return JSONResponse({"data": data, "has_more": False, "first_id": names[0], "last_id": names[-1]})
        created = int(time.time())
        return JSONResponse({"object": "list", "data": [{"id": n, "object": "model", "created": created,
                                                         "owned_by": "lynkr"} for n in names]})
    record = RequestRecord(session_id=ctx.session_id, started_at=time.time(), route=request.url.path,
                           inbound_format="anthropic" if anthropic_client else "openai-chat")
    from lynkr_cli.proxy.app import _NullScanner

    if anthropic_client:
        from lynkr_cli.proxy.app import anthropic_call

        url = join_url(ctx.anthropic_upstream, request.url.path, request.url.query)
        try:
            anthropic = anthropic_call(ctx, request, url, b"")
        except LynkrError as error:
            return reject(ctx, record, error, error_body_for("anthropic"))
        return relay_call(ctx, anthropic, record, _NullScanner())
    try:
        provider = ctx.provider_set().get("openai")
        record.provider = provider.id
        headers = dict(request.headers)
        auth = provider.auth_headers("openai-chat", headers, "openai-chat")
        require_own_key(auth, headers)  # serve --no-token (proxy/auth.py)
    except LynkrError as error:
        return reject(ctx, record, error, error_body_for("openai-chat"))
    call = UpstreamCall("GET", provider.models_url() or f"{provider.base_url}/models", auth, b"", "openai-chat", False)
    return relay_call(ctx, call, record, _NullScanner(), error_body_for("openai-chat"))
