"""The pluggable parts of the request path, as small protocols with do-nothing defaults.

Every model call goes: inbound adapter -> ``ctx.pipeline`` -> ``ctx.router`` -> ``ctx.cache`` ->
provider adapter. Each part is one object on ``ProxyContext``; the defaults below make the flow work
with any subset of them implemented (no stages, the session's own upstream, no cache).

Contracts (what the proxy relies on):
- ``ctx.pipeline`` (``lynkr_cli/pipeline``) is called through ``pipeline/hook.py:run_pipeline``; an
  unchanged request is the same object, so its ``raw`` bytes are forwarded. Exceptions are caught by
  the proxy (fail-open).
- ``Router.route(request, session)`` (``session``: Claude Code's session id, else lynkr's) returns a
  ``RouteDecision`` (or the tier router's shape, see ``flow.as_route_decision``); stored under
  ``details["route"]``.
  A ``LynkrError`` (e.g. a spent budget) is sent to the client in its own format.
- ``await ResponseCache.lookup(request, target, record)`` (``target``: ``cache.proxy.cache_target``)
  returns a canonical (Anthropic) message to serve, or None, and records its decision in
  ``details["cache"]``; ``store(request, target, message)`` receives each complete successful
  answer. Only called when ``enabled`` (``lynkr_cli/cache/service.py``).

Only the standard library is imported here: this module is loaded with the proxy context.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from lynkr_cli.canonical import ModelRequest


@dataclass(frozen=True)
class RouteDecision:
    """Where one request goes, and why (shown by ``lynkr explain`` and the report)."""

    provider: str
    model: str
    tier: str | None = None
    score: float | None = None
    reason: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"provider": self.provider, "model": self.model, "reason": self.reason}
        if self.tier is not None:
            out["tier"] = self.tier
        if self.score is not None:
            out["score"] = self.score
        if self.details:
            out.update(self.details)
        return out


class Router(Protocol):
    def route(self, request: ModelRequest, session: str) -> RouteDecision: ...


class ResponseCache(Protocol):
    enabled: bool

    async def lookup(self, request: ModelRequest, target: Any, record: Any) -> dict[str, Any] | None: ...
    def store(self, request: ModelRequest, target: Any, message: dict[str, Any]) -> None: ...


class NoCache:
    enabled = False

    async def lookup(self, request: ModelRequest, target: Any, record: Any) -> dict[str, Any] | None:
        return None

    def store(self, request: ModelRequest, target: Any, message: dict[str, Any]) -> None:
        pass


# The provider a client's own format implies when nothing else is configured: Claude Code keeps
# talking to Anthropic, Codex and OpenAI-compatible tools to OpenAI.
FAMILY_PROVIDER = {"anthropic": "anthropic", "openai-chat": "openai", "openai-responses": "openai"}


@dataclass
class StaticRouter:
    """One model for everything (``lynkr run --model provider:model``), or, without one, the upstream
    the client already uses with the model it asked for. ``default_provider`` is Lynkr's
    ``MODEL_PROVIDER`` (its ``model`` from ``[providers.<id>]`` when the request names none)."""

    provider: str | None = None
    model: str | None = None
    default_provider: str | None = None
    default_model: str | None = None

    def route(self, request: ModelRequest, session: str) -> RouteDecision:
        if self.provider and self.model:
            return RouteDecision(self.provider, self.model, reason="--model")
        requested = request.model or ""
        if self.default_provider:
            return RouteDecision(self.default_provider, self.default_model or requested, reason="model_provider")
        return RouteDecision(FAMILY_PROVIDER.get(request.inbound, "anthropic"), requested, reason="client upstream")
