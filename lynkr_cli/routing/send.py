"""The router's part of the send path: fallback candidates for one relay, and its response headers.

Called by the proxy flow once the first choice's upstream call is built. Retries and failover apply
only when routing is in use (tiers or a ``routing.fallback`` chain configured): without them lynkr
forwards exactly as before and the agent's own retry logic sees every error, as it would without
lynkr.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Mapping

from lynkr_cli.callers import require_own_key
from lynkr_cli.errors import LynkrError
from lynkr_cli.routing.fallback import Candidate, send_with_fallback
from lynkr_cli.routing.proxy import TierRouter, response_headers

if TYPE_CHECKING:
    import httpx

    from lynkr_cli.canonical import ModelRequest
    from lynkr_cli.proxy.components import RouteDecision
    from lynkr_cli.proxy.context import ProxyContext
    from lynkr_cli.proxy.relay import RelayResponse

log = logging.getLogger("lynkr.routing")


def attach_fallback(ctx: "ProxyContext", response: "RelayResponse", decision: "RouteDecision",
                    canonical: "ModelRequest", client_headers: Mapping[str, str], query: str) -> None:
    """Give ``response`` the x-lynkr-* headers and, when routing is on, its retry/failover plan."""
    router = ctx.router
    assert isinstance(router, TierRouter)
    response.extra_headers = response_headers(decision)
    if not (router.router.enabled or router.router.config.fallback):
        return
    first = response.upstream_request
    candidates = [Candidate(decision.provider, decision.model, lambda: _copy(ctx, first))]
    skipped = []
    for target in router.chain(decision):
        try:
            provider = ctx.provider_set().get(target.provider)
            call = provider.build_call(canonical, target.model, client_headers, query)
            require_own_key(call.headers, client_headers)  # serve --no-token (proxy/auth.py)
        except LynkrError as exc:  # not configured (no key, no URL): cannot be a fallback
            skipped.append(f"{target}: {exc}")
            continue
        except Exception as exc:  # a request its format cannot carry (parts of the wrong type) either
            skipped.append(f"{target}: the request could not be translated ({type(exc).__name__}: {exc})")
            continue
        candidates.append(Candidate(target.provider, target.model, _builder(ctx, call), (provider, call)))
    if skipped:
        response.record.details.setdefault("route", {})["fallback_skipped"] = skipped
    response.fallback = Fallback(candidates, canonical)


def _copy(ctx: "ProxyContext", request: "httpx.Request") -> "httpx.Request":
    assert ctx.client is not None
    return ctx.client.build_request(request.method, request.url, headers=request.headers, content=request.content)


def _builder(ctx: "ProxyContext", call: Any):  # type: ignore[no-untyped-def]
    def build() -> "httpx.Request":
        assert ctx.client is not None
        return ctx.client.build_request(call.method, call.url, headers=call.headers, content=call.body)

    return build


class Fallback:
    """One relay's plan: the candidates in order; switches the relay over when another one answers."""

    def __init__(self, candidates: list[Candidate], canonical: "ModelRequest") -> None:
        self.candidates = candidates
        self.canonical = canonical

    async def open(self, relay: "RelayResponse", client: "httpx.AsyncClient") -> "httpx.Response":
        router = relay.ctx.router
        assert isinstance(router, TierRouter)
        outcome = await send_with_fallback(client, self.candidates, router.policy, router.breakers)
        chosen, record = outcome.candidate, relay.record
        route = record.details.setdefault("route", {})
        route.update(outcome.details(self.candidates[0]))
        if chosen is not self.candidates[0]:
            self._switch(relay, chosen)
            log.info("failed over to %s:%s", chosen.provider, chosen.model)
        if outcome.response is None:
            assert outcome.error is not None
            raise outcome.error
        return outcome.response

    def _switch(self, relay: "RelayResponse", chosen: Candidate) -> None:
        """The relay now reads an answer from another provider: its scanner and translator follow."""
        from lynkr_cli.proxy.flow import response_handlers

        provider, call = chosen.context
        relay.upstream_request = chosen.build()
        scanner, translator, html_translator = response_handlers(relay.ctx, provider, call, self.canonical)
        relay.scanner, relay.translator, relay.html_translator = scanner, translator, html_translator
        record = relay.record
        record.provider, record.model_used = chosen.provider, chosen.model
        record.details["provider"] = {"id": chosen.provider, "model": chosen.model, "wire": call.wire_format,
                                      "translated": call.wire_format != self.canonical.inbound,
                                      "original_bytes": call.body is self.canonical.raw}
        relay.extra_headers[:] = [h for h in relay.extra_headers if h[0] not in (b"x-lynkr-model", b"x-lynkr-provider")]
        relay.extra_headers += [(b"x-lynkr-model", chosen.model.encode()), (b"x-lynkr-provider", chosen.provider.encode())]
