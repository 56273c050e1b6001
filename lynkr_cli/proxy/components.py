"""The pluggable parts of the request path, as small protocols with do-nothing defaults.

Every model call goes: inbound adapter -> ``ctx.pipeline`` -> ``ctx.router`` -> ``ctx.cache`` ->
provider adapter. Each part is one object on ``ProxyContext``; the defaults below make the flow work
with any subset of them implemented (no stages, the session's own upstream, no cache).

Contracts (what the proxy relies on):
- ``ctx.pipeline`` (``lynkr_cli/pipeline``) is called through ``pipeline/hook.py:run_pipeline``; an
  unchanged request is the same object, so its ``raw`` bytes are forwarded. Exceptions are caught by
  the proxy (fail-open).
- ``ctx.router`` (``Router`` below) answers every routing question the proxy has: the
  ``RouteDecision`` (``routing/decision.py``) for a request, stored under ``details["route"]``; where
  a ``count_tokens`` question goes; the fallback plan and the response headers. ``StaticRouter`` is
  the one without tiers (``routing/static.py``); ``routing/proxy.py:TierRouter`` the one with.
- ``await ResponseCache.lookup(request, target, record)`` (``target``: ``cache.proxy.cache_target``)
  returns a canonical (Anthropic) message to serve, or None, and records its decision in
  ``details["cache"]``; ``store(request, target, message)`` receives each complete successful
  answer. Only called when ``enabled`` (``lynkr_cli/cache/service.py``).
- ``await Limits.check(request, decision)`` runs once the request is routed; a ``LynkrError`` refuses
  it (a user key's models, rate or budget, ``lynkr_cli/keys/limits.py``).

Only the standard library (and the dependency-free ``routing/decision.py``) is imported here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from lynkr_cli.routing.decision import RouteDecision

if TYPE_CHECKING:
    from lynkr_cli.canonical import ModelRequest
    from lynkr_cli.routing.fallback import FallbackPlan


class Router(Protocol):
    """What the proxy asks of a router. A router with nothing to say gives the empty answer (no
    fallback, no headers, no model list of its own), never a missing method."""

    def route(self, request: ModelRequest, session: str) -> RouteDecision:
        """Where ``request`` goes; a ``LynkrError`` (a spent budget) reaches the client in its format."""
        ...

    def preview(self, request: ModelRequest) -> RouteDecision:
        """Where ``request`` would go, with nothing remembered (no turn, no spend): ``count_tokens``
        asks it, to count where the conversation's requests are sent."""
        ...

    def fallbacks(self, decision: RouteDecision) -> FallbackPlan | None:
        """What to try when ``decision``'s model fails before answering; None: nothing, not even a
        retry (the agent's own retry logic sees every error, as without lynkr)."""
        ...

    def response_headers(self, decision: RouteDecision) -> list[tuple[bytes, bytes]]:
        """Headers the client sees on the answer (``x-lynkr-tier`` …)."""
        ...

    def models(self) -> list[str]:
        """The model names this router serves whatever the client asks (``GET /v1/models``); empty:
        the client's own upstream lists its models."""
        ...


class ResponseCache(Protocol):
    enabled: bool

    async def lookup(self, request: ModelRequest, target: Any, record: Any) -> dict[str, Any] | None: ...
    def store(self, request: ModelRequest, target: Any, message: dict[str, Any]) -> None: ...

    def close(self) -> None:
        """Store what is queued before the proxy exits."""
        ...


class Limits(Protocol):
    async def check(self, request: ModelRequest, decision: RouteDecision) -> None:
        """Raise a ``LynkrError`` to refuse the routed request (sent to the client in its format)."""
        ...


class NoLimits:
    """No per-caller limits (``lynkr run``, and ``lynkr serve`` without user keys)."""

    async def check(self, request: ModelRequest, decision: RouteDecision) -> None:
        return None


class NoCache:
    enabled = False

    async def lookup(self, request: ModelRequest, target: Any, record: Any) -> dict[str, Any] | None:
        return None

    def store(self, request: ModelRequest, target: Any, message: dict[str, Any]) -> None:
        pass

    def close(self) -> None:
        pass
