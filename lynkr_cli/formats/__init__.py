"""Wire formats: each converts requests, responses and streams to and from the canonical model.

``codec(name)`` returns the one object that knows a format (``anthropic``, ``openai-chat``,
``openai-responses``, ``ollama``); modules are imported on first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lynkr_cli.formats.base import Codec

_CODECS = {
    "anthropic": ("lynkr_cli.formats.anthropic", "AnthropicCodec"),
    "openai-chat": ("lynkr_cli.formats.openai_chat", "ChatCodec"),
    "openai-responses": ("lynkr_cli.formats.openai_responses", "ResponsesCodec"),
    "ollama": ("lynkr_cli.formats.ollama", "OllamaCodec"),
}
_cache: dict[str, "Codec"] = {}


def register_codec(name: str, module: str, attr: str) -> None:
    """Add a wire format (e.g. ``bedrock``) implemented elsewhere."""
    _CODECS[name] = (module, attr)
    _cache.pop(name, None)


def codec(name: str) -> "Codec":
    found = _cache.get(name)
    if found is None:
        module, attr = _CODECS[name]
        found = _cache[name] = getattr(import_module(module), attr)()
    return found
