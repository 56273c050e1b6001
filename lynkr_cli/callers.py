"""Who a request is from, and which credentials it may spend.

The proxy's front authenticates every request (``proxy/auth.py``) and records the ``Caller`` here,
in a context variable of the request's task. The send path asks ``require_own_key`` before any call
leaves: a caller known only by the key it brought (``lynkr serve --no-token``) may send that key to
its own provider, never a key lynkr holds. This module sits below the proxy and the router so both
can ask it (standard library only).
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass
from typing import Iterable, Mapping

from lynkr_cli.errors import Unauthorized
from lynkr_cli.redact import is_credential_header


@dataclass(frozen=True)
class Caller:
    """Who sent a request, as an authenticator established it.

    ``held_keys``: the provider credentials lynkr holds (environment, config file, AWS or Azure
    logins) may be attached to this caller's requests. False for a caller known only by the key it
    brought: that key, and no other, goes upstream. ``key``: the user key's name; the ledger row of
    each request carries it, and its budgets apply (``lynkr_cli/keys``).
    """

    name: str
    held_keys: bool
    key: str | None = None  # the name of the user key (``lynkr keys``) the request came with


SESSION = Caller("token", held_keys=True)
CLIENT_KEY = Caller("client-key", held_keys=False)

_CALLER: contextvars.ContextVar[Caller | None] = contextvars.ContextVar("lynkr_caller", default=None)


def set_current_caller(caller: Caller) -> None:
    """Called by the front for each request: its task (and the tasks it starts) see this caller, the
    next request on the same connection runs in a task of its own."""
    _CALLER.set(caller)


def current_caller() -> Caller | None:
    """The caller of the request being handled (None outside a request that passed the front)."""
    return _CALLER.get()


def require_own_key(call_headers: Iterable[tuple[str, str]], client_headers: Mapping[str, str]) -> None:
    """Raise ``Unauthorized`` when the request's caller may not spend lynkr's credentials and this
    upstream call carries one: a credential-bearing header whose value the client did not send (a
    configured key, an AWS signature, an Azure token). The client's own key passes."""
    caller = _CALLER.get()
    if caller is None or caller.held_keys:
        return
    sent = set(client_headers.values())
    for name, value in call_headers:
        if is_credential_header(name) and value not in sent:
            raise Unauthorized(
                "this proxy runs without a token (lynkr serve --no-token): it sends only the key a client "
                "brings, to that key's own provider, and the route chosen needs a key lynkr holds"
            )
