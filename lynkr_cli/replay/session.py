"""What a transcript becomes: the requests an agent sent, in the agent's own wire format."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lynkr_cli.canonical import ApiFormat


@dataclass
class RebuiltRequest:
    """One request as the agent sent it (``payload`` in ``inbound`` format), rebuilt from a transcript.

    ``user_turn`` is True for the first request after the user typed something (the routing
    counterfactual routes those); ``timestamp`` (Unix seconds, or None) decides whether the provider's
    5-minute prompt cache was still warm.
    """

    payload: dict[str, Any]
    inbound: ApiFormat
    timestamp: float | None = None
    user_turn: bool = False


@dataclass
class ReplaySession:
    """A transcript read back: its agent, session id, and requests (plus how they were approximated)."""

    path: str
    agent: str
    session_id: str
    requests: list[RebuiltRequest] = field(default_factory=list)
    approximations: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    tools_used: set[str] = field(default_factory=set)
    recorded_input_tokens: int = 0  # what the provider billed, per the transcript's own usage records
