"""Codex CLI: configured per run with ``-c`` overrides, never by editing ``~/.codex/config.toml``.

Measured facts this relies on (DESIGN.md): Codex only calls ``POST {base_url}/responses`` (SSE),
ignores ``OPENAI_BASE_URL``, keeps the base URL's path, and switches to a different request shape
without ``-m``, so a model is always passed. Top-level ``-c``/``-m`` apply to ``codex exec`` too, so
they go before the user's arguments, which stay exactly as given.

Codex's provider entry is on its command line, which every user can read (``ps``), so the session
token is not in its base URL: Codex sends it from the environment, as its API key (``env_key``) when
lynkr holds every route's credentials (``agents/logins.py``), else as an ``X-Lynkr-Token`` header
(``env_http_headers``) next to its own credentials: ``OPENAI_API_KEY`` when set, else its own login
(``requires_openai_auth``: an API key or ChatGPT sign-in stored by ``codex login``), which lynkr
forwards to OpenAI. Both ways are accepted by the proxy and removed before routing (``proxy/auth.py``);
measured on Codex 0.169.0 and 0.171.0.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

from lynkr_cli.agents.base import Launch, PrivateFileWriter, ProxyEndpoint, loopback_env

PROVIDER_ID = "lynkr"
TOKEN_VAR = "LYNKR_SESSION_TOKEN"  # the environment variable Codex reads the session token from
# The default model of the pinned Codex (0.169) when neither the user, --model nor config names one.
DEFAULT_MODEL = "gpt-5.6"
_MODEL_FLAGS = ("-m", "--model")


class CodexAgent:
    name = "codex"
    binary = "codex"
    install_hint = "npm install -g @openai/codex"
    inbound = "openai-responses"
    home_provider = "openai"
    label = "Codex"
    login_hint = "run `codex login` or set OPENAI_API_KEY"

    def has_own_login(self, args: list[str], env: Mapping[str, str]) -> bool:
        if env.get("OPENAI_API_KEY"):
            return True
        return (codex_home(env) / "auth.json").is_file()  # written by `codex login` (key or ChatGPT)

    def launch(self, binary: str, args: list[str], endpoint: ProxyEndpoint, env: Mapping[str, str],
               files: PrivateFileWriter) -> Launch:
        child_env = dict(env)
        child_env.update(loopback_env(env))
        child_env[TOKEN_VAR] = endpoint.token
        fields = [f'name="{PROVIDER_ID}"', f'base_url="{endpoint.origin}/v1"', 'wire_api="responses"']
        if endpoint.token_as_key:
            fields.append(f'env_key="{TOKEN_VAR}"')
        else:
            fields.append(f'env_http_headers={{"X-Lynkr-Token"="{TOKEN_VAR}"}}')
            fields.append('env_key="OPENAI_API_KEY"' if env.get("OPENAI_API_KEY") else "requires_openai_auth=true")
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


def codex_home(env: Mapping[str, str]) -> Path:
    return Path(env.get("CODEX_HOME") or os.path.join(env.get("HOME") or str(Path.home()), ".codex"))


def configured_model(env: Mapping[str, str]) -> str | None:
    """``model`` from the user's Codex config (read only), so their usual model stays the default."""
    path = codex_home(env) / "config.toml"
    try:
        import tomllib

        with path.open("rb") as handle:
            model = tomllib.load(handle).get("model")
    except (OSError, ValueError):
        return None
    return model if isinstance(model, str) and model else None
