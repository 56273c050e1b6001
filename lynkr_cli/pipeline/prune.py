"""Stage ``prune``: session-stable tool pruning (off by default).

Lynkr chose tools per request from the request's wording; sessions stalled when a later turn needed
a tool it had removed, and every change of the tool list broke the prompt cache (tools come first in
the cached prefix). Here the choice is made once, on the first request a session sends with a given
tool list, and kept for every later request with that list, so the tool bytes never change within a
session. A tool is never removed when the conversation already used it or ``tool_choice`` names it.

What is removed: tools matching the configured ``drop`` patterns (the user's own decision), and with
``auto`` the few tools a coding session rarely needs (notebooks, cron/scheduling, worktrees, web
access, MCP servers) unless the first request's text mentions what they are for.

When Claude Code runs with ``ENABLE_TOOL_SEARCH=true`` it defers most tools behind its own
``ToolSearch`` tool; the stage then leaves the list alone and reports that path instead.
"""

from __future__ import annotations

import fnmatch
import hashlib
import re
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from lynkr_cli.pipeline.base import StageReport
from lynkr_cli.pipeline.config import PruneConfig

if TYPE_CHECKING:
    from lynkr_cli.canonical import ModelRequest
    from lynkr_cli.pipeline.state import SessionState

CLIENT_TOOL_SEARCH = "ToolSearch"
# Tool-name pattern -> words in the first request that show the tool may be needed (auto mode).
AUTO_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Notebook*", ("notebook", "ipynb", "jupyter", "cell")),
    ("Cron*", ("cron", "schedule", "every ", "remind", "recurring")),
    ("ScheduleWakeup", ("schedule", "wake", "later", "remind")),
    ("*Worktree", ("worktree",)),
    ("WebSearch", ("http", "web", "search", "internet", "online", "docs", "documentation", "latest")),
    ("WebFetch", ("http", "url", "web", "fetch", "download", "docs", "documentation", "page")),
)


# The markup agents wrap around what they add to a user message (Claude Code's
# ``<system-reminder>``, ``<command-name>``, ``<local-command-stdout>``): its tag names are not the
# user's words ("reminder" read as a wish to be reminded kept the scheduling tools in every session).
# What the tags enclose still counts: a CLAUDE.md that sends the agent to a web page may need WebFetch.
_AGENT_MARKUP = re.compile(r"</?[a-z]+(?:-[a-z]+)+>")


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(b.get("text", "") for b in content if isinstance(b, Mapping) and b.get("type") == "text")
    return ""


def used_tools(messages: Iterable[Mapping[str, Any]]) -> set[str]:
    """Names of every tool the conversation has called so far."""
    names: set[str] = set()
    for message in messages:
        content = message.get("content")
        if isinstance(content, list):
            names.update(b["name"] for b in content
                         if isinstance(b, Mapping) and b.get("type") == "tool_use" and isinstance(b.get("name"), str))
    return names


def chosen_tool(body: Mapping[str, Any]) -> str | None:
    choice = body.get("tool_choice")
    name = choice.get("name") if isinstance(choice, Mapping) else None
    return name if isinstance(name, str) else None


def _auto_drops(name: str, text: str) -> bool:
    if name.startswith("mcp__"):
        parts = name.split("__")
        words = [w.lower() for part in parts[1:] for w in part.replace("-", "_").split("_") if len(w) > 3]
        return not any(w in text for w in words)
    for pattern, hints in AUTO_RULES:
        if fnmatch.fnmatchcase(name, pattern):
            return not any(h in text for h in hints)
    return False


def decide(request: "ModelRequest", config: PruneConfig) -> tuple[str, ...]:
    """The tools to drop for this session, from its first request (deterministic)."""
    text = "\n".join(_text_of(m.get("content")) for m in request.messages if m.get("role") == "user").lower()
    text = _AGENT_MARKUP.sub(" ", text)
    drops = []
    for tool in request.tools:
        name = tool.get("name")
        if not isinstance(name, str) or tool.get("type"):  # server tools (web search etc.) carry a type
            continue
        if any(fnmatch.fnmatchcase(name, p) for p in config.drop) or (config.auto and _auto_drops(name, text)):
            drops.append(name)
    return tuple(drops)


class PruneTools:
    """The ``prune`` stage (see the module docstring)."""

    name = "prune"

    def __init__(self, config: PruneConfig | None = None) -> None:
        self.config = config or PruneConfig()

    def apply(self, request: "ModelRequest", state: "SessionState") -> "tuple[ModelRequest, StageReport]":
        from lynkr_cli.canonical import canonical_json

        report = StageReport(stage=self.name)
        tools = request.tools
        if not tools:
            report.decision = "no tools"
            return request, report
        names = [t.get("name") for t in tools]
        if CLIENT_TOOL_SEARCH in names:
            report.decision = f"client tool search (ENABLE_TOOL_SEARCH): {len(tools)} tools sent, list left as is"
            report.metrics["path_tool_search"] = 1
            return request, report
        fingerprint = hashlib.sha256(canonical_json({"tools": tools})).hexdigest()[:16]
        drops, first = state.decide_once(f"prune:{fingerprint}", lambda: decide(request, self.config))
        keep_anyway = used_tools(request.messages) | {chosen_tool(request.body)}
        dropped = [n for n in drops if n not in keep_anyway]
        when = "decided on this request" if first else "kept from the session's first request"
        if not dropped:
            report.decision = f"all {len(tools)} tools kept ({when})"
            return request, report
        from lynkr_cli.tokens import count_json

        removed = [t for t in tools if t.get("name") in dropped]
        counts = state.memo(("prune-tokens", fingerprint, tuple(dropped)), lambda: [count_json(t) for t in removed])
        report.changed = True
        report.tokens_before = sum(counts)
        report.tokens_after = 0
        report.decision = f"dropped {len(removed)} of {len(tools)} tools ({when}): {', '.join(dropped)}"
        report.items = [{"name": t["name"], "representation": "dropped", "tokens_before": n, "tokens_after": 0}
                        for t, n in zip(removed, counts)] if first else []
        kept = [t for t in tools if t.get("name") not in dropped]
        return request.with_body({**request.body, "tools": kept}), report
