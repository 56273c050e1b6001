"""The per-session secret in the URL path: ``/s/<token>/v1/messages``.

Claude Code and Codex keep a path prefix of their base URL, so the token travels with every request
without touching the agent's own credentials headers. Requests without it get a 401 in the client's
format; the comparison is constant-time.
"""

from __future__ import annotations

import hmac
import secrets

from lynkr_cli.errors import anthropic_error_body, openai_error_body

PREFIX = "/s/"


def new_token() -> str:
    return secrets.token_urlsafe(18)


class SessionToken:
    """Require and strip ``/s/<token>``, so routes below it see plain API paths (``proxy/front.py``)."""

    def __init__(self, token: str) -> None:
        self._prefix = f"{PREFIX}{token}".encode()
        self._prefix_str = f"{PREFIX}{token}"

    def strip(self, scope):  # type: ignore[no-untyped-def]
        """The scope with the prefix removed, or None when the path does not carry the token."""
        path: str = scope["path"]
        given = path[: len(self._prefix_str)]
        rest = path[len(self._prefix_str) :]
        if hmac.compare_digest(given.encode(), self._prefix) and (rest == "" or rest.startswith("/")):
            scope = dict(scope)
            scope["path"] = rest or "/"
            scope["raw_path"] = (rest or "/").encode()
            scope["root_path"] = scope.get("root_path", "") + self._prefix_str
            return scope
        return None


async def reject(scope, send) -> None:  # type: ignore[no-untyped-def]
    message = "lynkr: this proxy requires its session token in the URL path (/s/<token>/...)"
    if "/chat/completions" in scope["path"] or "/responses" in scope["path"]:
        body = openai_error_body(message, "invalid_request_error", "invalid_api_key")
    else:
        body = anthropic_error_body(message, "authentication_error")
    await send(
        {
            "type": "http.response.start",
            "status": 401,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
