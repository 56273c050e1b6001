"""Where the cache meets the proxy: the ``x-lynkr-cache`` header and the cache's view of a request.

``with_cache_header`` puts ``x-lynkr-cache`` on every response the proxy sends (``skip`` unless
the request flow decided otherwise), so users and scripts can always see what happened.
``cache_target`` names where a request goes (provider, upstream, model, feature flags): the same
question sent elsewhere is another question.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Mapping

from lynkr_cli.cache.key import Target

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.types import Message, Scope

    from lynkr_cli.providers.base import HttpProvider

    from lynkr_cli.ledger import RequestRecord

HEADER = b"x-lynkr-cache"
_SCOPE_KEY = "lynkr.cache"
_VARIANT_HEADERS = ("anthropic-version", "anthropic-beta", "openai-beta")


class _Mark:
    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = "skip"


def attach_mark(scope: Scope) -> _Mark:
    """A ``skip`` mark on ``scope``, shared by the copies of it that later layers make; the request
    flow changes it (``mark_decision``) before the response starts."""
    mark = scope[_SCOPE_KEY] = _Mark()
    return mark


def with_cache_header(message: Message, mark: _Mark) -> Message:
    """``message`` with ``x-lynkr-cache`` set when it starts a response (``proxy/front.py`` sends every
    response through this)."""
    if message["type"] == "http.response.start":
        headers = [h for h in message.get("headers", []) if h[0].lower() != HEADER]
        headers.append((HEADER, mark.value.encode()))
        message = dict(message, headers=headers)
    return message


def mark_decision(request: Request, record: RequestRecord) -> None:
    """Show the cache's decision for this request in its response header."""
    holder = request.scope.get(_SCOPE_KEY)
    decision = (record.details.get("cache") or {}).get("decision")
    if holder is not None and decision:
        holder.value = decision


def cache_target(provider: HttpProvider, model: str, headers: Mapping[str, str]) -> Target:
    """The exact upstream, model and feature-flag headers a request is sent with."""
    variant = "|".join(f"{name}={headers.get(name, '')}" for name in _VARIANT_HEADERS)
    return Target(provider=provider.id, upstream=provider.base_url, model=model, variant=variant)
