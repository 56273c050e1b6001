"""The errors lynkr raises on purpose, and how each one reaches a user.

Every error a user can cause or meet (a missing binary, a bad config value, an unreachable upstream)
is a ``LynkrError`` subclass carrying what the user needs to fix it. ``anthropic_error_body`` renders
one for an Anthropic client; the CLI prints ``str(error)`` and exits with ``error.exit_code``.
"""

from __future__ import annotations

import json
from typing import Any


class LynkrError(Exception):
    """Base of every error lynkr reports to a user."""

    exit_code = 1
    http_status = 500
    anthropic_type = "api_error"
    openai_type = "server_error"
    headers: tuple[tuple[str, str], ...] = ()  # sent with the error response (retry-after, connection)


class UsageError(LynkrError):
    """The command line or a config value cannot be used as given."""

    exit_code = 2
    http_status = 400
    anthropic_type = "invalid_request_error"
    openai_type = "invalid_request_error"


class ConfigError(UsageError):
    """A config file, profile or variable holds a value lynkr cannot use (names the key and where)."""


class UnknownProvider(UsageError):
    """A ``provider:model`` names a provider lynkr does not know."""


class MissingCredential(UsageError):
    """A provider needs a key or base URL that is not configured; the message names the variable."""


class AgentNotFound(LynkrError):
    """The agent binary is not on PATH (exit 127, as a shell would)."""

    exit_code = 127


class AgentNotRunnable(AgentNotFound):
    """The agent was found but cannot be executed: a directory, a bad ``#!`` line (exit 126, as a shell)."""

    exit_code = 126


class RequestTooLarge(LynkrError):
    """A request body is larger than the configured limit."""

    http_status = 413
    anthropic_type = "request_too_large"
    openai_type = "invalid_request_error"


class TooComplex(RequestTooLarge):
    """A request body with more JSON objects and arrays than any agent sends (parsing it would stall
    every other client)."""


class BodyTimeout(LynkrError):
    """A client stopped sending its request body (408; the connection is closed)."""

    http_status = 408
    anthropic_type = "invalid_request_error"
    openai_type = "invalid_request_error"
    headers = (("connection", "close"),)


class ServerBusy(LynkrError):
    """The proxy holds as many request bodies in memory as its budget allows (503, retry shortly)."""

    http_status = 503
    anthropic_type = "overloaded_error"
    openai_type = "server_error"
    headers = (("retry-after", "1"), ("connection", "close"))


class ClientLeft(LynkrError):
    """The client went away while sending its request (recorded as 499, nothing is sent)."""

    http_status = 499


class UpstreamError(LynkrError):
    """The upstream provider could not be reached or answered unusably."""

    http_status = 502


class UpstreamTimeout(UpstreamError):
    """The upstream provider did not answer in time."""

    http_status = 504


class Unauthorized(LynkrError):
    """A request did not carry this proxy's session token."""

    http_status = 401
    anthropic_type = "authentication_error"
    openai_type = "invalid_api_key"


class NotFound(LynkrError):
    """No route answers this path."""

    http_status = 404
    anthropic_type = "not_found_error"
    openai_type = "not_found_error"


def anthropic_error_body(message: str, error_type: str = "api_error") -> bytes:
    """An error body exactly as the Anthropic API shapes one, so SDKs and Claude Code parse it."""
    payload: dict[str, Any] = {"type": "error", "error": {"type": error_type, "message": message}}
    return json.dumps(payload).encode()


def openai_error_body(message: str, error_type: str = "server_error", code: str | None = None) -> bytes:
    """An error body exactly as the OpenAI API shapes one."""
    payload = {"error": {"message": message, "type": error_type, "param": None, "code": code}}
    return json.dumps(payload).encode()
