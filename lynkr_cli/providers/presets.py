"""The built-in provider ids: one ``register`` line each (family, default base URL, usual variables).

Variable names are each provider's own (what its SDK or CLI reads) plus the names Lynkr used, so an
existing environment just works. The first key variable is the one named in a missing-key error.
"""

from __future__ import annotations

from lynkr_cli.providers.anthropic import AnthropicProvider
from lynkr_cli.providers.base import ProviderPreset, register
from lynkr_cli.providers.ollama import DEFAULT_OLLAMA_BASE_URL, OllamaProvider
from lynkr_cli.providers.openai import DEFAULT_OPENAI_BASE_URL, OpenAICompatibleProvider, OpenAIProvider

Compat = OpenAICompatibleProvider

register(ProviderPreset("anthropic", AnthropicProvider, "https://api.anthropic.com", ("ANTHROPIC_BASE_URL",),
                        ("ANTHROPIC_API_KEY",), description="Anthropic Messages API"))
register(ProviderPreset("openai", OpenAIProvider, DEFAULT_OPENAI_BASE_URL, ("OPENAI_BASE_URL", "OPENAI_API_BASE"),
                        ("OPENAI_API_KEY",), description="OpenAI Responses and Chat Completions"))
register(ProviderPreset("ollama", OllamaProvider, DEFAULT_OLLAMA_BASE_URL, ("OLLAMA_ENDPOINT", "OLLAMA_HOST"),
                        ("OLLAMA_API_KEY",), key_required=False, description="Ollama native /api/chat"))
register(ProviderPreset("openrouter", Compat, "https://openrouter.ai/api/v1", ("OPENROUTER_BASE_URL",),
                        ("OPENROUTER_API_KEY",), description="OpenRouter (Chat Completions)"))
register(ProviderPreset("deepseek", Compat, "https://api.deepseek.com/v1", ("DEEPSEEK_BASE_URL",),
                        ("DEEPSEEK_API_KEY",), description="DeepSeek (Chat Completions)"))
register(ProviderPreset("moonshot", Compat, "https://api.moonshot.ai/v1", ("MOONSHOT_BASE_URL",),
                        ("MOONSHOT_API_KEY", "KIMI_API_KEY"), description="Moonshot / Kimi (Chat Completions)"))
register(ProviderPreset("lmstudio", Compat, "http://localhost:1234/v1", ("LMSTUDIO_ENDPOINT", "LMSTUDIO_BASE_URL"),
                        ("LMSTUDIO_API_KEY",), key_required=False, description="LM Studio local server"))
register(ProviderPreset("llamacpp", Compat, "http://localhost:8080/v1", ("LLAMACPP_ENDPOINT", "LLAMACPP_BASE_URL"),
                        ("LLAMACPP_API_KEY",), key_required=False, description="llama.cpp server"))
register(ProviderPreset("vllm", Compat, "http://localhost:8000/v1", ("VLLM_ENDPOINT", "VLLM_BASE_URL"),
                        ("VLLM_API_KEY",), key_required=False, description="vLLM OpenAI-compatible server"))
register(ProviderPreset("openai-compatible", Compat, None, ("OPENAI_COMPATIBLE_BASE_URL",),
                        ("OPENAI_COMPATIBLE_API_KEY",), key_required=False,
                        description="any OpenAI-compatible server, by base URL"))
