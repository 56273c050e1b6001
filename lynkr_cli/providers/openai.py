"""OpenAI (Responses and Chat Completions) and every OpenAI-compatible server.

``OpenAIProvider`` speaks both of OpenAI's formats and answers a client in the one it used, so Codex
(Responses) and a Chat Completions tool both pass through untouched; Claude Code's requests go out
as Responses. ``OpenAICompatibleProvider`` is Chat Completions only: OpenRouter, DeepSeek, Moonshot,
LM Studio, llama.cpp's server, vLLM, Together, Groq, Gemini's OpenAI endpoint, any base URL.

The base URL includes the version path, as in the OpenAI SDK's ``OPENAI_BASE_URL``
(``https://api.openai.com/v1``).
"""

from __future__ import annotations

from typing import Mapping

from lynkr_cli.providers.base import HttpProvider, WireFormat

DEFAULT_OPENAI_BASE_URL = "https://api.openai.com/v1"
# Codex signed in with ChatGPT sends its access token and this header; those tokens are only
# accepted by ChatGPT's Codex backend, not by api.openai.com.
CHATGPT_CODEX_BASE_URL = "https://chatgpt.com/backend-api/codex"
_CLIENT_HEADERS = ("authorization", "openai-organization", "openai-project", "chatgpt-account-id", "originator",
                   "session_id", "conversation_id", "openai-beta", "version", "user-agent")


class OpenAICompatibleProvider(HttpProvider):
    wire_formats: tuple[WireFormat, ...] = ("openai-chat",)
    client_auth_formats: tuple[str, ...] = ()

    def endpoint(self, wire: WireFormat, model: str, stream: bool) -> str:
        return f"{self.base_url}/chat/completions"

    def models_url(self) -> str | None:
        return f"{self.base_url}/models"


class OpenAIProvider(OpenAICompatibleProvider):
    wire_formats: tuple[WireFormat, ...] = ("openai-responses", "openai-chat")
    client_auth_formats = ("openai-responses", "openai-chat")
    forward_headers = _CLIENT_HEADERS

    def endpoint(self, wire: WireFormat, model: str, stream: bool) -> str:
        path = "/responses" if wire == "openai-responses" else "/chat/completions"
        return f"{self.base_url}{path}"

    def _chatgpt_login(self, inbound: str, client_headers: Mapping[str, str]) -> bool:
        return (
            "chatgpt-account-id" in client_headers
            and self.uses_client_credentials(inbound, client_headers)
            and self.base_url == DEFAULT_OPENAI_BASE_URL
        )

    def build_call(self, request, model, client_headers, query=""):  # type: ignore[no-untyped-def]
        call = super().build_call(request, model, client_headers, query)
        if self._chatgpt_login(request.inbound, client_headers):
            from dataclasses import replace

            return replace(call, url=call.url.replace(DEFAULT_OPENAI_BASE_URL, CHATGPT_CODEX_BASE_URL, 1))
        return call
