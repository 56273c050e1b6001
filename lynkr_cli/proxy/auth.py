"""Who is calling: every request is authenticated before lynkr attaches a credential it holds.

An ``Authenticator`` looks at a request's scope and answers with an ``Admission`` (who the caller
is, and which parts of the request were lynkr's own credential) or None, which the front turns into
a 401 in the client's API format (``proxy/front.py``). The front then removes lynkr's credential from
the request, so nothing below it (routes, providers, the relay) can forward it upstream.

- ``TokenAuthenticator``: the session token of ``lynkr run`` or the serve token. Accepted in the path
  (``/s/<token>/v1/messages``: Claude Code and Codex keep a base URL's path prefix), as
  ``X-Lynkr-Token``, and as the client's own credential header when it equals the token
  (``Authorization: Bearer <token>``, ``x-api-key: <token>``): an agent that never logged in can
  be given the token as its key. Comparisons are constant-time.
- ``ClientKeyAuthenticator``: ``lynkr serve --no-token``. A request is admitted only with a key of
  its own (``Authorization`` or ``x-api-key``), and such a caller may not spend the keys lynkr
  holds: only the client's key goes upstream, to the provider family it belongs to.
- ``FirstOf``: several authenticators in turn (per-user keys, issue 20, plug in here).

The caller is kept in the scope (``caller_of``) and, for the request's task, in ``callers.py``, where
the send path checks it before a call leaves (``require_own_key``).
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Mapping, Protocol, Sequence

from lynkr_cli.callers import CLIENT_KEY, SESSION, Caller

if TYPE_CHECKING:
    from starlette.types import Scope

PREFIX = "/s/"
TOKEN_HEADER = b"x-lynkr-token"
MIN_TOKEN_LENGTH = 32
SCOPE_KEY = "lynkr.caller"
# Headers that carry a client's own key to its provider (Anthropic: x-api-key or a bearer token;
# OpenAI and compatible: a bearer token).
CLIENT_KEY_HEADERS = (b"authorization", b"x-api-key")


@dataclass(frozen=True)
class Admission:
    """An authenticated request: its caller, and lynkr's credential to remove before routing.

    ``path``: the request path without the token prefix (None: the path carried no token);
    ``drop``: names of headers whose value was lynkr's credential (never forwarded upstream).
    """

    caller: Caller
    path: str | None = None
    drop: frozenset[bytes] = frozenset()


class Authenticator(Protocol):
    def authenticate(self, scope: Scope) -> Admission | None:
        """The admission of this request, or None (the front answers 401 and records the request)."""
        ...


class TokenAuthenticator:
    """The session or serve token, in the path, in ``X-Lynkr-Token`` or as the client's key."""

    def __init__(self, token: str, caller: Caller = SESSION) -> None:
        self._token = token.encode()
        self._prefix = f"{PREFIX}{token}"
        self._bearer = b"bearer " + self._token
        self._caller = caller

    def authenticate(self, scope: Scope) -> Admission | None:
        path: str = scope["path"]
        in_path = None
        if path.startswith(PREFIX):
            given, rest = path[: len(self._prefix)], path[len(self._prefix):]
            if hmac.compare_digest(given.encode(), self._prefix.encode()) and (rest == "" or rest[0] == "/"):
                in_path = rest or "/"
        drop: set[bytes] = set()
        for name, value in scope["headers"]:
            if name == TOKEN_HEADER:
                drop.add(name)  # lynkr's own header never goes upstream, right or wrong
                if hmac.compare_digest(value, self._token):
                    in_path = in_path or path
            elif name == b"authorization":
                if len(value) == len(self._bearer) and hmac.compare_digest(value.lower()[:7] + value[7:], self._bearer):
                    drop.add(name)
            elif name == b"x-api-key" and hmac.compare_digest(value, self._token):
                drop.add(name)
        if in_path is None and not (drop - {TOKEN_HEADER}):
            return None
        return Admission(self._caller, in_path if in_path != path else None, frozenset(drop))


class ClientKeyAuthenticator:
    """``serve --no-token``: admitted only with a key of the client's own, which is all it may spend."""

    def authenticate(self, scope: Scope) -> Admission | None:
        for name, value in scope["headers"]:
            if name in CLIENT_KEY_HEADERS and value.strip():
                return Admission(CLIENT_KEY, drop=frozenset({TOKEN_HEADER}))
        return None


class FirstOf:
    """The first admission any of ``authenticators`` gives."""

    def __init__(self, authenticators: Sequence[Authenticator]) -> None:
        self._authenticators = tuple(authenticators)

    def authenticate(self, scope: Scope) -> Admission | None:
        for authenticator in self._authenticators:
            admission = authenticator.authenticate(scope)
            if admission is not None:
                return admission
        return None


def authenticator_for(token: str | None) -> Authenticator:
    """The token when there is one; without one (``serve --no-token``), clients' own keys only."""
    return TokenAuthenticator(token) if token else ClientKeyAuthenticator()


def admitted(scope: Scope, admission: Admission) -> Scope:
    """``scope`` as the routes see it: token prefix and lynkr's credential headers removed, caller set."""
    scope = dict(scope)
    if admission.path is not None:
        root = scope["path"][: len(scope["path"]) - len(admission.path)] if admission.path != "/" else scope["path"]
        scope["root_path"] = scope.get("root_path", "") + root.rstrip("/")
        scope["path"] = admission.path
        scope["raw_path"] = admission.path.encode()
    if admission.drop:
        scope["headers"] = [(k, v) for k, v in scope["headers"] if k not in admission.drop]
    scope[SCOPE_KEY] = admission.caller
    return scope


def caller_of(scope: Mapping[str, object]) -> Caller | None:
    """The caller the front admitted this request as."""
    found = scope.get(SCOPE_KEY)
    return found if isinstance(found, Caller) else None


# -- tokens -------------------------------------------------------------------------------------
def new_token() -> str:
    """A 43-character URL-safe token (256 random bits)."""
    return secrets.token_urlsafe(32)


def weak_token_reason(token: str) -> str | None:
    """Why a token someone chose is too weak to guard a port, or None when it will do."""
    if len(token) < MIN_TOKEN_LENGTH:
        return f"it has {len(token)} characters; at least {MIN_TOKEN_LENGTH} random ones are needed"
    if len(set(token)) < 8:
        return "it repeats a few characters; use random ones"
    if not all(33 <= ord(c) < 127 and c not in "/?#%" for c in token):
        return "it must be printable ASCII without spaces, '/', '?', '#' or '%' (it goes in URLs)"
    return None
