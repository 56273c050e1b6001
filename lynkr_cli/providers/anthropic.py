"""Anthropic Messages API (and anything that speaks it: gateways, Azure's Anthropic endpoint).

A client that speaks Anthropic keeps every header it sent (``anthropic-version``, ``anthropic-beta``,
its own key or subscription token, Claude Code's session id), so zero-config use behaves exactly
as without lynkr. Other clients are authenticated with ``ANTHROPIC_API_KEY``.
"""

from __future__ import annotations

from typing import Mapping

from lynkr_cli.providers.base import HttpProvider, WireFormat

ANTHROPIC_VERSION = "2023-06-01"
# Client headers that describe the client or the connection, not the API call.
_NOT_FORWARDED = frozenset(
    {"host", "content-length", "connection", "keep-alive", "proxy-authorization", "proxy-connection", "te",
     "trailer", "transfer-encoding", "upgrade", "accept-encoding", "content-type"}
)


class AnthropicProvider(HttpProvider):
    wire_formats: tuple[WireFormat, ...] = ("anthropic",)
    client_auth_formats: tuple[str, ...] = ("anthropic",)
    counts_tokens = True

    def endpoint(self, wire: WireFormat, model: str, stream: bool) -> str:
        return f"{self.base_url}/v1/messages"

    def auth_headers(self, inbound: str, client_headers: Mapping[str, str], wire: WireFormat) -> list[tuple[str, str]]:
        if inbound == "anthropic":
            headers = [(k, v) for k, v in client_headers.items() if k not in _NOT_FORWARDED]
            if self.config.api_key and not self.uses_client_credentials(inbound, client_headers):
                headers.append(("x-api-key", self.config.api_key))
            if "anthropic-version" not in client_headers:
                headers.append(("anthropic-version", ANTHROPIC_VERSION))
            return headers
        headers = [("anthropic-version", ANTHROPIC_VERSION)]
        if self.config.api_key:
            headers.append(("x-api-key", self.config.api_key))
        return headers

    def models_url(self) -> str | None:
        return f"{self.base_url}/v1/models"
