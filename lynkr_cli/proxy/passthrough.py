"""Routes lynkr does not model (model lists, a gateway's own endpoints …): relayed untouched to the
Anthropic upstream, with the credentials the Anthropic provider would send."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from lynkr_cli.callers import require_own_key
from lynkr_cli.errors import LynkrError, NotFound
from lynkr_cli.formats import codec
from lynkr_cli.ledger import RequestRecord
from lynkr_cli.providers.base import UpstreamCall
from lynkr_cli.proxy.answers import NullScanner, Readers
from lynkr_cli.proxy.relay import join_url, relay_call
from lynkr_cli.proxy.requests import read_body, reject

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from lynkr_cli.providers.base import HttpProvider
    from lynkr_cli.proxy.context import ProxyContext
    from lynkr_cli.proxy.relay import RelayResponse


async def passthrough(request: Request) -> Response | RelayResponse:
    """Any other API path goes to the Anthropic upstream untouched."""
    ctx: ProxyContext = request.app.state.ctx
    path = request.url.path
    record = RequestRecord(session_id=ctx.session_id, started_at=time.time(), route=path)
    client = codec("anthropic")
    if ".." in path.split("/") or "\\" in path:
        return reject(ctx, record, NotFound(f"no route for {path!r}"), client)
    if "anthropic-version" not in request.headers:
        # Every Anthropic API call names its version; a request without one is another API's (an
        # OpenAI SDK's /v1/embeddings): its key must not be sent to the Anthropic upstream.
        return reject(ctx, record, NotFound(f"no route for {path!r}: lynkr passes only Anthropic API calls "
                                            "(with anthropic-version) on to the Anthropic upstream"), client)
    try:
        body = await read_body(request, ctx.max_body_bytes)
        record.request_bytes = len(body)
        provider = ctx.provider_set().get("anthropic")
        call = upstream_call(provider, request, join_url(provider.base_url, path, request.url.query), body)
    except LynkrError as error:
        return reject(ctx, record, error, client)
    return relay_call(ctx, call, record, Readers(NullScanner()), client)


def upstream_call(provider: HttpProvider, request: Request, url: str, body: bytes) -> UpstreamCall:
    """A call to an Anthropic-family ``provider`` for a route lynkr does not model: the client's headers
    as the provider forwards them, with the key lynkr holds when the client brought none (an agent
    given the token as its key), and never a key a ``--no-token`` caller did not send."""
    client_headers = dict(request.headers)
    headers = provider.auth_headers("anthropic", client_headers, "anthropic")
    require_own_key(headers, client_headers)
    if "content-type" in client_headers:
        headers.append(("content-type", client_headers["content-type"]))
    headers.append(("accept-encoding", "identity"))  # so usage can be read from the bytes relayed
    return UpstreamCall(request.method, url, headers, body, "anthropic", False)
