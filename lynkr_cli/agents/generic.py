"""Any other tool (``lynkr run -- cmd``): pointed at the proxy through the usual environment variables."""

from __future__ import annotations

from typing import Mapping

from lynkr_cli.agents.base import Launch, PrivateFileWriter, ProxyEndpoint, loopback_env


class GenericAgent:
    install_hint = ""
    inbound = None  # any API: it is given both base URLs and keeps whatever credentials it has
    home_provider = None
    login_hint = ""

    @property
    def label(self) -> str:
        return self.name

    def has_own_login(self, args: list[str], env: Mapping[str, str]) -> bool:
        return True  # never given the token as a key: lynkr cannot tell which variable it would read

    def __init__(self, name: str) -> None:
        self.name = name
        self.binary = name

    def launch(self, binary: str, args: list[str], endpoint: ProxyEndpoint, env: Mapping[str, str],
               files: PrivateFileWriter) -> Launch:
        child_env = dict(env)
        child_env.update(loopback_env(env))
        child_env["ANTHROPIC_BASE_URL"] = endpoint.base_url
        # OpenAI SDKs (and tools built on them) read OPENAI_BASE_URL; older ones OPENAI_API_BASE.
        child_env["OPENAI_BASE_URL"] = child_env["OPENAI_API_BASE"] = f"{endpoint.base_url}/v1"
        return Launch([binary, *args], child_env)
