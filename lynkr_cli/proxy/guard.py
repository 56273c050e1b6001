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

from lynkr_cli.errors import anthropic_error_body

# ``..`` or ``.`` as a whole segment, in any mix of raw and percent-encoded dots, separators that
# some servers accept (backslash, encoded slash or backslash), and control characters, raw or encoded
# (no API path has one; an upstream URL cannot carry one, and a log line must not).
_SUSPICIOUS = re.compile(rb"(^|/)(\.|%2e){1,2}(/|$)|\\|%5c|%2f|%[01][0-9a-f]|%7f|[\x00-\x1f\x7f]", re.IGNORECASE)


def is_api_path(scope) -> bool:  # type: ignore[no-untyped-def]
    """False for a path that is not a plain API path (checked on the raw bytes too)."""
    raw = scope.get("raw_path") or scope["path"].encode("utf-8", "surrogateescape")
    return not (_SUSPICIOUS.search(raw.split(b"?", 1)[0]) or _SUSPICIOUS.search(scope["path"].encode("utf-8", "replace")))


async def refuse(send) -> None:  # type: ignore[no-untyped-def]
    """The 404, in the Anthropic error format."""
    body = anthropic_error_body("lynkr: this path is not an API path (dot segments, backslashes or control characters)",
                               "not_found_error")
    await send({"type": "http.response.start", "status": 404,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
