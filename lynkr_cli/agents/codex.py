"""Codex CLI: configured per run with ``-c`` overrides, never by editing ``~/.codex/config.toml``.

Measured facts this relies on (DESIGN.md): Codex only calls ``POST {base_url}/responses`` (SSE),
ignores ``OPENAI_BASE_URL``, keeps the base URL's path, and switches to a different request shape
without ``-m``, so a model is always passed. Top-level ``-c``/``-m`` apply to ``codex exec`` too, so
they go before the user's arguments, which stay exactly as given.

Credentials: when the upstream is OpenAI, Codex authenticates as it would without lynkr: with
``OPENAI_API_KEY`` when set, else with its own login (``requires_openai_auth``: an API key or ChatGPT
sign-in stored by ``codex login``); lynkr forwards that. For any other upstream lynkr holds the key
and Codex gets a placeholder in ``LYNKR_API_KEY``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

from lynkr_cli.agents.base import Launch, PrivateFileWriter, ProxyEndpoint, loopback_env

PROVIDER_ID = "lynkr"
# The default model of the pinned Codex (0.169) when neither the user, --model nor config names one.
DEFAULT_MODEL = "gpt-5.6"
_MODEL_FLAGS = ("-m", "--model")


class CodexAgent:
    name = "codex"
    binary = "codex"
    install_hint = "npm install -g @openai/codex"

    def launch(self, binary: str, args: list[str], endpoint: ProxyEndpoint, env: Mapping[str, str],
               files: PrivateFileWriter) -> Launch:
        child_env = dict(env)
        child_env.update(loopback_env(env))
        openai_upstream = endpoint.provider in (None, "openai")
        fields = [f'name="{PROVIDER_ID}"', f'base_url="{endpoint.base_url}/v1"', 'wire_api="responses"']
        if openai_upstream and env.get("OPENAI_API_KEY"):
            fields.append('env_key="OPENAI_API_KEY"')
        elif openai_upstream:
            fields.append("requires_openai_auth=true")
        else:
            child_env["LYNKR_API_KEY"] = "lynkr-session"
            fields.append('env_key="LYNKR_API_KEY"')
        flags = ["-c", f"model_provider={PROVIDER_ID}", "-c", f"model_providers.{PROVIDER_ID}={{{', '.join(fields)}}}"]
        if not user_model(args):
            flags += ["-m", endpoint.model or configured_model(env) or DEFAULT_MODEL]
        return Launch([binary, *flags, *args], child_env)


def user_model(args: list[str]) -> str | None:
    """The model the user passed (``-m X``, ``--model X``, ``--model=X``), before a bare ``--``."""
    for i, arg in enumerate(args):
        if arg == "--":
            return None
        if arg in _MODEL_FLAGS and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith("--model="):
            return arg.split("=", 1)[1]
        if arg.startswith("-m") and len(arg) > 2 and not arg.startswith("--"):
            return arg[2:]
    return None


def configured_model(env: Mapping[str, str]) -> str | None:
    """``model`` from the user's Codex config (read only), so their usual model stays the default."""
    home = env.get("CODEX_HOME") or os.path.join(env.get("HOME") or str(Path.home()), ".codex")
    path = Path(home) / "config.toml"
    try:
        import tomllib

        with path.open("rb") as handle:
            model = tomllib.load(handle).get("model")
    except (OSError, ValueError):
        return None
    return model if isinstance(model, str) and model else None
