"""Refusing request paths that try to climb out of the API: dot segments, backslashes and control
characters, raw or percent-encoded.

The proxy forwards unknown API paths to the upstream (``count_tokens``, model lookups, a gateway's own
endpoints). A path such as ``/v1/models/..%5C..%5Cadmin`` would reach the upstream as a traversal
attempt on lynkr's behalf; servers that decode ``%5C`` as a separator (or resolve dot segments) would
act on it. Such a path is never a real API call, so it gets a 404 in the Anthropic error format
before routing, and nothing is sent upstream. ``proxy/front.py`` applies it to every HTTP request.
"""

from __future__ import annotations

import re

from starlette.types import Scope, Send

from lynkr_cli.errors import anthropic_error_body

# ``..`` or ``.`` as a whole segment, in any mix of raw and percent-encoded dots, separators that
# some servers accept (backslash, encoded slash or backslash), and control characters, raw or encoded
# (no API path has one; an upstream URL cannot carry one, and a log line must not).
_SUSPICIOUS = re.compile(rb"(^|/)(\.|%2e){1,2}(/|$)|\\|%5c|%2f|%[01][0-9a-f]|%7f|[\x00-\x1f\x7f]", re.IGNORECASE)


def is_api_path(scope: Scope) -> bool:
    """False for a path that is not a plain API path. The raw bytes as the client sent them are what
    is checked (every decoded form of a dangerous character has an encoded form the pattern knows);
    without them, the decoded path."""
    raw: bytes | None = scope.get("raw_path")
    if raw is None:
        return not _SUSPICIOUS.search(scope["path"].encode("utf-8", "replace"))
    query = raw.find(b"?")
    return not _SUSPICIOUS.search(raw if query < 0 else raw[:query])


async def refuse(send: Send) -> None:
    """The 404, in the Anthropic error format."""
    body = anthropic_error_body("lynkr: this path is not an API path (dot segments, backslashes or control characters)",
                               "not_found_error")
    await send({"type": "http.response.start", "status": 404,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


# -- who may ask: Host and Origin ---------------------------------------------------------------
class OriginGuard:
    """Refuses requests a web page could have made, before routing (403).

    DNS rebinding: a page on ``evil.example`` re-points its name at 127.0.0.1 and then reads the
    proxy's answers as same-origin; its requests still say ``Host: evil.example``. So the Host must be
    an IP literal (a literal cannot be rebound), ``localhost``, or a name the user configured
    (``serve.allowed_hosts``; the machine's own name when serving beyond loopback). A page's blind
    cross-site request carries an ``Origin``: only configured origins (``serve.allowed_origins``)
    pass, and get CORS answers; clients that are not browsers send none.
    """

    def __init__(self, hosts: tuple[str, ...] = (), origins: tuple[str, ...] = ()) -> None:
        self._hosts = frozenset(h.lower().encode() for h in ("localhost", *hosts))
        self._origins = frozenset(o.lower().rstrip("/").encode() for o in origins)

    def refusal(self, headers: list[tuple[bytes, bytes]]) -> str | None:
        """Why this request may not come in, or None."""
        for name, value in headers:
            if name == b"host":
                if not self._host_ok(value):
                    return "lynkr: Host {!r} is not this proxy's address (serve.allowed_hosts)".format(
                        value.decode("latin-1")[:100])
            elif name == b"origin" and value.lower().rstrip(b"/") not in self._origins:
                return "lynkr: requests from web pages are refused (Origin {!r} is not in serve.allowed_origins)".format(
                    value.decode("latin-1")[:100])
        return None

    def allowed_origin(self, headers: list[tuple[bytes, bytes]]) -> bytes | None:
        """The request's Origin when it is a configured one (its answer gets CORS headers)."""
        if not self._origins:
            return None
        for name, value in headers:
            if name == b"origin":
                return value
        return None

    def _host_ok(self, value: bytes) -> bool:
        if value.startswith(b"["):  # an IPv6 literal
            return True
        host, _, port = value.rpartition(b":")
        if not host or not port.isdigit():
            host = value
        if host.count(b".") == 3 and host.replace(b".", b"").isdigit():  # an IPv4 literal
            return True
        return host.lower() in self._hosts


def cors_preflight(origin: bytes, headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """The answer headers of a preflight (``OPTIONS``) from a configured origin."""
    asked = next((v for k, v in headers if k == b"access-control-request-headers"), b"")
    return [(b"access-control-allow-origin", origin), (b"vary", b"origin"),
            (b"access-control-allow-methods", b"GET, POST, OPTIONS"),
            (b"access-control-allow-headers", asked or b"content-type"), (b"access-control-max-age", b"600"),
            (b"content-length", b"0")]


# -- what a JSON route accepts --------------------------------------------------------------------
def is_json(headers: list[tuple[bytes, bytes]]) -> bool:
    """True when the body is declared JSON (``application/json`` or ``application/…+json``).

    A web page can send ``text/plain``, form and multipart bodies to any address without asking
    first; a JSON body needs the browser's permission (a CORS preflight), which lynkr does not give.
    """
    for name, value in headers:
        if name == b"content-type":
            media = value.split(b";", 1)[0].strip().lower()
            return media == b"application/json" or (media.startswith(b"application/") and media.endswith(b"+json"))
    return False
