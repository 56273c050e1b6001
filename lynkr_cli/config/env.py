"""Settings from environment variables: ``LYNKR_*`` names, short aliases, and Lynkr's own names.

``LYNKR_SECTION__KEY`` addresses any nested setting (``LYNKR_TIERS__SIMPLE``,
``LYNKR_PROVIDERS__OLLAMA__BASE_URL``). Variables whose first part names no setting (``LYNKR_HOME``,
``LYNKR_KEY``) are not settings and are left alone. Lynkr's names (``MODEL_PROVIDER``,
``TIER_SIMPLE``, ``OLLAMA_ENDPOINT`` …) are read too, below ``LYNKR_*``, so its users can move over
without editing their ``.env``; an entry whose section does not exist yet is skipped.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Mapping

PREFIX = "LYNKR_"

# Short names for settings used often; one line per alias.
ALIASES: dict[str, str] = {
    "LYNKR_CACHE": "cache.mode",
    "LYNKR_PORT": "serve.port",
    "LYNKR_HOST": "serve.host",
    "LYNKR_SERVE_TOKEN": "serve.token",
    "LYNKR_TIER_SIMPLE": "tiers.simple",
    "LYNKR_TIER_MEDIUM": "tiers.medium",
    "LYNKR_TIER_COMPLEX": "tiers.complex",
    "LYNKR_TIER_REASONING": "tiers.reasoning",
}


def _url(value: str) -> str:
    """``OLLAMA_HOST`` is often ``host:port`` or a bare host, without a scheme."""
    from lynkr_cli.providers.base import host_url

    return host_url(value)


def _flag(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "on")


# Lynkr's variable -> (our dotted setting, converter). Later entries for the same setting win, so the
# more specific name comes last (OLLAMA_ENDPOINT over OLLAMA_HOST). Generic names such as HOST are
# left out on purpose: shells set HOST to the machine name.
LEGACY: list[tuple[str, str, Callable[[str], Any | None]]] = [
    ("MODEL_PROVIDER", "model_provider", str.strip),
    ("TIER_SIMPLE", "tiers.simple", str.strip),
    ("TIER_MEDIUM", "tiers.medium", str.strip),
    ("TIER_COMPLEX", "tiers.complex", str.strip),
    ("TIER_REASONING", "tiers.reasoning", str.strip),
    ("OLLAMA_HOST", "providers.ollama.base_url", _url),
    ("OLLAMA_ENDPOINT", "providers.ollama.base_url", _url),
    ("OLLAMA_MODEL", "providers.ollama.model", str.strip),
    ("OPENROUTER_API_KEY", "providers.openrouter.api_key", str.strip),
    ("OPENROUTER_BASE_URL", "providers.openrouter.base_url", str.strip),
    ("OPENROUTER_MODEL", "providers.openrouter.model", str.strip),
    ("OPENAI_API_KEY", "providers.openai.api_key", str.strip),
    ("OPENAI_BASE_URL", "providers.openai.base_url", str.strip),
    ("AWS_BEDROCK_API_KEY", "providers.bedrock.api_key", str.strip),
    ("AWS_BEDROCK_MODEL_ID", "providers.bedrock.model", str.strip),
    ("DATABRICKS_API_BASE", "providers.databricks.base_url", str.strip),
    ("DATABRICKS_API_KEY", "providers.databricks.api_key", str.strip),
    ("DATABRICKS_MODEL", "providers.databricks.model", str.strip),
    ("AZURE_OPENAI_DEPLOYMENT", "providers.azure-openai.model", str.strip),
    ("PORT", "serve.port", str.strip),
    ("PROMPT_CACHE_ENABLED", "cache.mode", lambda v: "exact" if _flag(v) else "off"),
    ("SEMANTIC_CACHE_ENABLED", "cache.mode", lambda v: "semantic" if _flag(v) else None),
]
# A converter returning None means "this value sets nothing" (SEMANTIC_CACHE_ENABLED=false leaves the
# mode PROMPT_CACHE_ENABLED chose).


def set_path(data: dict[str, Any], path: str, value: Any) -> None:
    """Set ``a.b.c`` in a nested dict, creating the dicts on the way."""
    *parents, leaf = path.split(".")
    for part in parents:
        child = data.get(part)
        if not isinstance(child, dict):
            child = data[part] = {}
        data = child
    data[leaf] = value


def _parse(name: str, path: str, value: str) -> Any:
    """JSON for lists and tables (``LYNKR_AGENTS='["claude"]'``); plain strings otherwise (pydantic coerces).
    A value that starts like JSON but is not is a ``ConfigError`` naming the variable and the position."""
    text = value.strip()
    if text[:1] in ("[", "{"):
        try:
            return json.loads(text)
        except ValueError as exc:
            from lynkr_cli.errors import ConfigError

            raise ConfigError(f"invalid config: {path} in env {name}: not valid JSON ({exc})") from None
    return value


def legacy_layer(env: Mapping[str, str], fields: set[str]) -> tuple[dict[str, Any], dict[str, str]]:
    """Settings from Lynkr's variable names, and which variable set each dotted key."""
    data: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for name, path, convert in LEGACY:
        value = env.get(name)
        if value is None or value.strip() == "" or path.split(".")[0] not in fields:
            continue
        converted = convert(value)
        if converted is None:
            continue
        set_path(data, path, converted)
        sources[path] = f"env {name}"
    return data, sources


def lynkr_layer(env: Mapping[str, str], fields: set[str]) -> tuple[dict[str, Any], dict[str, str]]:
    """Settings from ``LYNKR_*`` variables (nested with ``__``) and the short aliases."""
    data: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for name in sorted(env):
        if not name.upper().startswith(PREFIX):
            continue
        alias = ALIASES.get(name.upper())
        if alias is not None:
            path = alias
        else:
            path = ".".join(part.lower() for part in name[len(PREFIX):].split("__"))
        if path.split(".")[0] not in fields:
            continue
        value = _parse(name, path, env[name])
        if path == "agents" and isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        set_path(data, path, value)
        if isinstance(value, dict) and value:  # a JSON table: name the variable for each key in it
            sources.update({f"{path}.{key}": f"env {name}" for key in value})
        else:
            sources[path] = f"env {name}"
    return data, sources


# Lynkr variables with no direct equivalent, and what to use instead (``lynkr doctor`` names them).
UNMAPPED: dict[str, str] = {
    "FALLBACK_ENABLED": "list provider:model entries in [routing] fallback",
    "FALLBACK_PROVIDER": "list provider:model entries in [routing] fallback",
    "POLICY_MAX_STEPS": "no step limit: the agent runs its own loop",
    "POLICY_MAX_TOOL_CALLS": "no tool-call limit: the agent runs its own loop",
    "POLICY_SAFE_COMMANDS_ENABLED": "no command filter: lynkr does not run tools",
    "LOAD_SHEDDING_ENABLED": "no load shedding: one proxy per session",
    "TOOL_INJECTION_ENABLED": "no tool injection: the agent's tools are forwarded as sent",
    "HOST": "LYNKR_HOST or [serve] host (HOST is usually the machine name)",
}
