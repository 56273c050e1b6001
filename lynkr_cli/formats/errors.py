"""Upstream errors, whatever shape they come in, described in one line and typed for each client API.

An upstream may answer with its own JSON error (Anthropic, OpenAI and Ollama shapes differ), with an
HTML page (a wrong base URL, a captive portal, a gateway's 502 page) or with plain text. The client
always gets an error in its own format naming the provider and the cause.
"""

from __future__ import annotations

import html
import re
from typing import Any

from lynkr_cli.formats.base import load_json
from lynkr_cli.redact import redact_text

_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.I | re.S)

ANTHROPIC_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
                   404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error",
                   529: "overloaded_error"}
OPENAI_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
                404: "not_found_error", 413: "invalid_request_error", 429: "rate_limit_error"}


def anthropic_type(status: int) -> str:
    return ANTHROPIC_TYPES.get(status, "api_error")


def openai_type(status: int) -> str:
    return OPENAI_TYPES.get(status, "server_error")


def error_detail(body: Any) -> str | None:
    """The message inside a JSON error body of any provider, or None."""
    if not isinstance(body, dict):
        return None
    error = body.get("error")
    if isinstance(error, str):  # Ollama, llama.cpp
        return error
    if isinstance(error, dict):
        message = error.get("message") or error.get("msg")
        kind = error.get("type") or error.get("code")
        kind = str(kind) if kind else None  # OpenRouter's codes are numbers ({"code": 429, …})
        if message:
            return f"{kind}: {message}" if kind and kind not in str(message) else str(message)
    for key in ("message", "detail"):  # Bedrock, some gateways
        text = body.get(key)
        if isinstance(text, str):
            return text
    return None


def describe_upstream_error(provider: str, status: int, body: bytes, content_type: str | None) -> str:
    """``upstream <provider> answered HTTP <status>: <cause>`` with credentials redacted."""
    kind = (content_type or "").split(";")[0].strip().lower()
    detail = error_detail(load_json(body.decode("utf-8", "replace"))) if body[:1] in (b"{", b"[") else None
    if detail is None and (kind == "text/event-stream" or body.startswith((b"event:", b"data:"))):
        detail = _sse_error_detail(body)
    if detail is None:
        if kind == "text/html" or body.lstrip()[:1] == b"<":
            title = _TITLE.search(body[:65536])
            name = html.unescape(title.group(1).decode("utf-8", "replace")).strip() if title else ""
            detail = "an HTML page" + (f" ({name[:120]})" if name else "") + ", not an API response; check the base URL"
        else:
            text = body[:300].decode("utf-8", "replace").strip()
            detail = text or "an empty body"
    return redact_text(f"upstream {provider} answered HTTP {status}: {detail}")


def _sse_error_detail(body: bytes) -> str | None:
    """An error sent as SSE (``event: error`` / ``data: {"error": …}``) by a server answering a
    streaming request: the message inside its first data line that holds one, not the raw event."""
    for line in body[:65536].splitlines():
        if line.startswith(b"data:"):
            detail = error_detail(load_json(line[5:].decode("utf-8", "replace").strip()))
            if detail is not None:
                return detail
    return None
