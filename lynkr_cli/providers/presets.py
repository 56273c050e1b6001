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

# Cloud families (providers/bedrock.py, azure.py, databricks.py).
from lynkr_cli.providers.azure import AzureAnthropicProvider, AzureOpenAIProvider  # noqa: E402
from lynkr_cli.providers.bedrock import DEFAULT_ENDPOINT as BEDROCK_ENDPOINT, OPTIONS_ENV as AWS_ENV  # noqa: E402
from lynkr_cli.providers.bedrock import BedrockProvider  # noqa: E402
from lynkr_cli.providers.databricks import DatabricksProvider  # noqa: E402

register(ProviderPreset("bedrock", BedrockProvider, BEDROCK_ENDPOINT,
                        ("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", "AWS_ENDPOINT_URL", "BEDROCK_ENDPOINT"),
                        ("AWS_BEARER_TOKEN_BEDROCK", "AWS_BEDROCK_API_KEY"), key_required=False, options_env=AWS_ENV,
                        description="Amazon Bedrock Converse (SigV4 from the AWS credential chain, or an API key)"))
register(ProviderPreset("azure-openai", AzureOpenAIProvider, None, ("AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_BASE_URL"),
                        ("AZURE_OPENAI_API_KEY",), key_required=False,
                        options_env={"api_version": ("AZURE_OPENAI_API_VERSION", "OPENAI_API_VERSION"),
                                     "ad_token": ("AZURE_OPENAI_AD_TOKEN",), "path": ("PATH",)},
                        description="Azure OpenAI deployments (model = deployment name)"))
register(ProviderPreset("azure-anthropic", AzureAnthropicProvider, "https://{resource}.services.ai.azure.com/anthropic",
                        ("AZURE_ANTHROPIC_ENDPOINT", "ANTHROPIC_FOUNDRY_BASE_URL"),
                        ("AZURE_ANTHROPIC_API_KEY", "ANTHROPIC_FOUNDRY_API_KEY"), key_required=False,
                        options_env={"resource": ("ANTHROPIC_FOUNDRY_RESOURCE",),
                                     "ad_token": ("AZURE_ANTHROPIC_AD_TOKEN",)},
                        description="Claude in Azure AI Foundry (Anthropic Messages)"))
register(ProviderPreset("databricks", DatabricksProvider, None, ("DATABRICKS_HOST", "DATABRICKS_API_BASE"),
                        ("DATABRICKS_TOKEN", "DATABRICKS_API_KEY"),
                        description="Databricks Model Serving endpoints"))


def custom_preset(provider_id: str, key_env: str | None) -> ProviderPreset:
    """An OpenAI-compatible endpoint declared only in the config file (``[providers.together]``)."""
    return ProviderPreset(provider_id, Compat, None, (), (key_env,) if key_env else (), key_required=bool(key_env))
