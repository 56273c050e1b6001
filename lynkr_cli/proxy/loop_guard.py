"""The loop guard: an agent calling the same tool with the same input over and over is stuck.

Lynkr's ``POLICY_MAX_STEPS``/``POLICY_MAX_TOOL_CALLS`` capped a session's length, which stopped long
healthy sessions and let a short loop burn money. What is actually wasteful is a run of identical
calls: the model asks for ``Bash {"command": "npm test"}``, gets the same answer, and asks again.
Every request carries the whole conversation, so the run is visible in the request itself: the
assistant turns at the end of the history, each making the same tool call(s) with identical input.

At ``repeats`` such turns in a row (default 5) the request is flagged (``details["loop_guard"]``,
shown by the status line and the reports). With ``routing.loop_guard = "stop"`` it is refused instead,
in the client's own API format, so the agent shows the reason and the turn ends; the ledger keeps a
row for it. Stateless, and cheap: the walk back stops at the first turn that differs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lynkr_cli.errors import UsageError

if TYPE_CHECKING:
    from lynkr_cli.canonical import ModelRequest
    from lynkr_cli.ledger import RequestRecord

DEFAULT_REPEATS = 5


class LoopStopped(UsageError):
    """The agent repeated one tool call with identical input too often (``routing.loop_guard = "stop"``)."""


@dataclass(frozen=True)
class Loop:
    """A run of identical tool calls at the end of a conversation."""

    tool: str  # the tool's name (several, comma-separated, for a turn of parallel calls)
    repeats: int


@dataclass(frozen=True)
class LoopGuard:
    """``mode``: ``warn`` flags the request, ``stop`` refuses it, ``off`` does nothing."""

    mode: str = "warn"
    repeats: int = DEFAULT_REPEATS

    def inspect(self, request: ModelRequest, record: RequestRecord) -> None:
        """Flag (or, in ``stop`` mode, refuse with ``LoopStopped``) a request ending a loop."""
        if self.mode == "off":
            return
        loop = find_loop(request.body.get("messages"), self.repeats)
        if loop is None:
            return
        stop = self.mode == "stop"
        record.details["loop_guard"] = {"tool": loop.tool, "repeats": loop.repeats,
                                        "action": "stopped" if stop else "flagged"}
        if stop:
            raise LoopStopped(
                f"loop guard: the agent called {loop.tool} with identical input {loop.repeats} times in a row; "
                f"this request was refused (routing.loop_guard = \"stop\"; \"warn\" only flags it)")


def find_loop(messages: Any, repeats: int) -> Loop | None:
    """The run of identical tool-calling assistant turns ending ``messages``, if ``repeats`` long."""
    if not isinstance(messages, list):
        return None
    first: tuple[tuple[str, str], ...] | None = None
    count = 0
    for message in reversed(messages):
        if not isinstance(message, dict) or message.get("role") != "assistant":
            continue
        calls = _calls(message.get("content"))
        if not calls or (first is not None and calls != first):
            break
        first = calls
        count += 1
    if first is None or count < repeats:
        return None
    return Loop(", ".join(dict.fromkeys(name for name, _ in first)), count)


def _calls(content: Any) -> tuple[tuple[str, str], ...]:
    """The tool calls of one assistant turn as (name, input in canonical JSON), ids left out."""
    if not isinstance(content, list):
        return ()
    return tuple((str(block.get("name")), json.dumps(block.get("input"), sort_keys=True, default=str))
                 for block in content if isinstance(block, dict) and block.get("type") == "tool_use")
