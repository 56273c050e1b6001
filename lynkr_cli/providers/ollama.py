"""Ollama's native API (``POST /api/chat``, NDJSON streaming), local or Ollama's cloud.

The native API rather than Ollama's OpenAI shim: it reports ``done_reason`` and token counts on
every answer and takes ``options`` (context size, ``num_predict``) the shim ignores.
"""

from __future__ import annotations

from lynkr_cli.providers.base import HttpProvider, WireFormat

DEFAULT_OLLAMA_BASE_URL = "http://localhost:11434"


class OllamaProvider(HttpProvider):
    wire_formats: tuple[WireFormat, ...] = ("ollama",)

    def endpoint(self, wire: WireFormat, model: str, stream: bool) -> str:
        base = self.base_url[:-3] if self.base_url.endswith("/v1") else self.base_url  # an OpenAI-style URL given
        return f"{base}/api/chat"

    def models_url(self) -> str | None:
        return f"{self.base_url}/api/tags"
