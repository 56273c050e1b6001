"""What ``lynkr init`` and ``lynkr doctor`` can find without asking: local model servers on their
usual loopback ports, provider keys already in the environment, agents on PATH.

Probes are short (a refused port answers at once; the timeout only matters for a port that accepts
and then says nothing) and run in parallel, so detection costs well under a second.
"""

from __future__ import annotations

import json
import shutil
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Mapping

# provider id, base URL, path listing its models
LOCAL_SERVERS: list[tuple[str, str, str]] = [
    ("ollama", "http://127.0.0.1:11434", "/api/tags"),
    ("lmstudio", "http://127.0.0.1:1234/v1", "/models"),
    ("llamacpp", "http://127.0.0.1:8080/v1", "/models"),
]

# provider id -> variables that hold its key (the first one found is reported)
KEY_VARIABLES: dict[str, tuple[str, ...]] = {
    "anthropic": ("ANTHROPIC_API_KEY",),
    "openai": ("OPENAI_API_KEY",),
    "openrouter": ("OPENROUTER_API_KEY",),
    "deepseek": ("DEEPSEEK_API_KEY",),
    "moonshot": ("MOONSHOT_API_KEY", "KIMI_API_KEY"),
    "bedrock": ("AWS_BEARER_TOKEN_BEDROCK", "AWS_BEDROCK_API_KEY", "AWS_ACCESS_KEY_ID"),
    "azure-openai": ("AZURE_OPENAI_API_KEY",),
    "databricks": ("DATABRICKS_API_KEY", "DATABRICKS_TOKEN"),
}

AGENTS = ("claude", "codex")


@dataclass
class LocalServer:
    provider: str
    base_url: str
    models: list[str] = field(default_factory=list)


def _models(payload: object) -> list[str]:
    """Model names from Ollama's ``/api/tags`` or an OpenAI-style ``/models`` answer."""
    if not isinstance(payload, dict):
        return []
    items = payload.get("models") or payload.get("data") or []
    names = [item.get("name") or item.get("model") or item.get("id") for item in items if isinstance(item, dict)]
    return sorted(str(n) for n in names if n)


def probe(provider: str, base_url: str, path: str, timeout: float = 0.5) -> LocalServer | None:
    """The server at ``base_url`` if it answers its model list, else None."""
    try:
        with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(base_url + path, timeout=timeout) as r:
            if r.status >= 400:
                return None
            data = r.read(1_000_000)
    except (OSError, ValueError):
        return None
    try:
        models = _models(json.loads(data))
    except ValueError:
        models = []
    return LocalServer(provider, base_url, models)


# The variables that move a local server (the same ones the providers read).
SERVER_ENV: dict[str, tuple[str, ...]] = {
    "ollama": ("OLLAMA_ENDPOINT", "OLLAMA_HOST"),
    "lmstudio": ("LMSTUDIO_ENDPOINT", "LMSTUDIO_BASE_URL"),
    "llamacpp": ("LLAMACPP_ENDPOINT", "LLAMACPP_BASE_URL"),
}


def server_targets(env: Mapping[str, str]) -> list[tuple[str, str, str]]:
    """The usual loopback ports, or where the environment says a server lives."""
    targets = []
    for provider, base_url, path in LOCAL_SERVERS:
        configured = next((env[name] for name in SERVER_ENV.get(provider, ()) if env.get(name)), None)
        if configured:
            from urllib.parse import urlsplit

            from lynkr_cli.providers.base import host_url

            base_url = host_url(configured, urlsplit(base_url).port)
            if provider != "ollama" and not base_url.endswith("/v1"):
                base_url += "/v1"
        targets.append((provider, base_url, path))
    return targets


def local_servers(servers: list[tuple[str, str, str]] | None = None, timeout: float = 0.5) -> list[LocalServer]:
    """Every local model server that answers, probed in parallel."""
    import os

    servers = server_targets(os.environ) if servers is None else servers
    with ThreadPoolExecutor(max_workers=max(1, len(servers))) as pool:
        found = pool.map(lambda s: probe(s[0], s[1], s[2], timeout=timeout), servers)
    return [server for server in found if server is not None]


def provider_keys(env: Mapping[str, str]) -> dict[str, str]:
    """Provider id -> the variable holding its key, for keys present in ``env``."""
    found = {}
    for provider, names in KEY_VARIABLES.items():
        for name in names:
            if env.get(name):
                found[provider] = name
                break
    return found


def agents_on_path() -> dict[str, str]:
    return {name: path for name in AGENTS if (path := shutil.which(name))}
