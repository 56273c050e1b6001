"""How each agent is pointed at the proxy. ``agent_for`` picks the adapter by command name."""

from __future__ import annotations

import os

from lynkr_cli.agents.base import Agent, Launch, with_no_proxy
from lynkr_cli.agents.claude import ClaudeAgent
from lynkr_cli.agents.codex import CodexAgent
from lynkr_cli.agents.generic import GenericAgent

KNOWN_AGENTS: dict[str, Agent] = {"claude": ClaudeAgent(), "codex": CodexAgent()}


def agent_for(command: str, generic: bool = False) -> Agent:
    """The adapter for ``command``; ``generic`` (``lynkr run -- cmd``) forces the env-only one."""
    if not generic:
        agent = KNOWN_AGENTS.get(os.path.basename(command))
        if agent is not None:
            return agent
    return GenericAgent(os.path.basename(command))


__all__ = ["Agent", "Launch", "KNOWN_AGENTS", "agent_for", "with_no_proxy"]
