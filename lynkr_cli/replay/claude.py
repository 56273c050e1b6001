"""Claude Code transcripts -> the Anthropic Messages requests Claude Code sent.

A transcript line of ``type`` ``user`` or ``assistant`` holds one message (an assistant answer is
often split over several lines, one per content block, sharing ``message.id``). Claude Code sends a
request, then writes the answer: so each new assistant ``message.id`` marks one request, whose
messages are everything the conversation held before it. Consecutive user lines (parallel tool
results, a prompt after an interrupted turn) are one API message, as Claude Code merges them.

Left out, on purpose: side-chain lines inside a main transcript (sub-agents write their own files in
current versions, which are replayed as sessions of their own), synthetic answers (``model: "<synthetic>"``: no request was
made) and API error lines. A ``compact_boundary`` starts the conversation over, as ``/compact`` does.
The last message gets a ``cache_control`` breakpoint as Claude Code puts one there. What Claude Code adds
to the messages and does not write down (a context reminder with the date before the first prompt, a
``system``-role message listing agents and skills) is taken from the pinned version (``prefix.py``).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from lynkr_cli.replay.prefix import CLAUDE_NOTE, claude_prefix
from lynkr_cli.replay.session import RebuiltRequest, ReplaySession
from lynkr_cli.replay.transcripts import Lines

BREAKPOINT = {"type": "ephemeral"}


def parse_time(value: Any) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _blocks(content: Any) -> list[Any]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    return list(content) if isinstance(content, list) else []


def _is_user_text(content: Any) -> bool:
    """A message the user typed (not only tool results)."""
    if isinstance(content, str):
        return bool(content.strip())
    return any(isinstance(b, dict) and b.get("type") == "text" for b in content or [])


def _with_breakpoint(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The messages with Claude Code's breakpoint on the last block of the last user or assistant
    message (a copy of that one message; the history is shared)."""
    index = next((i for i in range(len(messages) - 1, -1, -1) if messages[i].get("role") != "system"), None)
    if index is None:
        return messages
    blocks = _blocks(messages[index].get("content"))
    if not blocks or not isinstance(blocks[-1], dict):
        return messages
    blocks[-1] = {**blocks[-1], "cache_control": BREAKPOINT}
    return [*messages[:index], {"role": messages[index]["role"], "content": blocks}, *messages[index + 1:]]


class _Conversation:
    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.answer_id: str | None = None
        self.answer_index = -1
        self.user_typed = False
        self._head: tuple[Any, list[dict[str, Any]]] | None = None

    def head(self, prefix: dict[str, Any], date: str | None) -> list[dict[str, Any]]:
        """The first message as Claude Code sends it: its context reminder (today's date) before the
        prompt, then its ``system``-role message (agents, skills); built once per conversation, so every
        request of the session shares the same objects, as it shares the same bytes."""
        first = self.messages[0]
        if self._head is not None and self._head[0] is first:
            return self._head[1]
        context = [_dated(block, date) for block in prefix.get("context_blocks") or []]
        head = [{"role": "user", "content": context + _blocks(first["content"])}] if context else [first]
        head += list(prefix.get("context_messages") or [])
        self._head = (first, head)
        return head

    def add(self, role: str, content: Any) -> None:
        blocks = _blocks(content)
        if not blocks:
            return
        if self.messages and self.messages[-1]["role"] == role:
            previous = self.messages[-1]
            self.messages[-1] = {"role": role, "content": _blocks(previous["content"]) + blocks}
        elif role == "user" and isinstance(content, str):
            self.messages.append({"role": role, "content": content})
        else:
            self.messages.append({"role": role, "content": blocks})

    def continue_answer(self, content: Any) -> None:
        """More blocks of the open answer, written after the results of its first tool calls: in the
        API they are one assistant message, followed by one user message with all the results."""
        answer = self.messages[self.answer_index]
        self.messages[self.answer_index] = {"role": "assistant", "content": _blocks(answer["content"]) + _blocks(content)}


def _only_results(content: Any) -> bool:
    return isinstance(content, list) and bool(content) and all(
        isinstance(b, dict) and b.get("type") == "tool_result" for b in content)


def read_claude(lines: Lines) -> ReplaySession:
    """The requests of one Claude Code transcript (see the module docstring)."""
    prefix = claude_prefix()
    session = ReplaySession(path=str(lines.path), agent="claude", session_id=lines.path.stem,
                            warnings=list(lines.warnings))
    session.approximations.append(CLAUDE_NOTE.format(version=prefix["version"]))
    convo = _Conversation()
    seen_answers: set[str] = set()
    # A sub-agent's own file (``<session>/subagents/agent-*.jsonl``) is all side-chain: replay it; in a
    # main transcript, inline side-chain lines (older versions) belong to another conversation.
    main_lines = any(r.get("type") in ("user", "assistant") and not r.get("isSidechain") for _, r in lines.records)
    for _, record in lines.records:
        kind = record.get("type")
        if kind == "system" and record.get("subtype") == "compact_boundary":
            convo = _Conversation()
            continue
        message = record.get("message")
        if kind not in ("user", "assistant") or not isinstance(message, dict) or \
                (record.get("isSidechain") and main_lines):
            continue
        if isinstance(record.get("sessionId"), str):
            session.session_id = record["sessionId"]
        if kind == "user":
            content = message.get("content")
            if not _only_results(content):
                convo.answer_id = None
                if _is_user_text(content) and not record.get("isMeta") and not record.get("isCompactSummary"):
                    convo.user_typed = True
            convo.add("user", content)
            continue
        model = message.get("model")
        if model == "<synthetic>" or record.get("isApiErrorMessage") or not isinstance(model, str):
            continue
        answer_id = message.get("id") or record.get("requestId")
        for block in _blocks(message.get("content")):
            if isinstance(block, dict) and block.get("type") == "tool_use" and isinstance(block.get("name"), str):
                session.tools_used.add(block["name"])
        if answer_id is not None and answer_id == convo.answer_id and convo.answer_index >= 0:
            convo.continue_answer(message.get("content"))
            continue
        if answer_id in seen_answers:
            continue  # a copy of an answer already placed (resumed sessions repeat lines)
        if convo.messages and convo.messages[-1]["role"] == "user":
            messages = convo.head(prefix, _date(record.get("timestamp"))) + convo.messages[1:]
            session.requests.append(RebuiltRequest(
                payload=_request(prefix, model, messages, session.session_id),
                inbound="anthropic", timestamp=parse_time(record.get("timestamp")), user_turn=convo.user_typed))
            session.recorded_input_tokens += _recorded(message.get("usage"))
            convo.user_typed = False
        if answer_id is not None:
            seen_answers.add(answer_id)
        convo.answer_id = answer_id
        convo.add("assistant", message.get("content"))
        convo.answer_index = len(convo.messages) - 1
    return session


_DATE = re.compile(r"Today's date is \d{4}-\d{2}-\d{2}\.")


def _date(timestamp: Any) -> str | None:
    return timestamp[:10] if isinstance(timestamp, str) and re.match(r"\d{4}-\d{2}-\d{2}", timestamp) else None


def _dated(block: dict[str, Any], date: str | None) -> dict[str, Any]:
    """The captured reminder with the session's own date (what Claude Code wrote that day)."""
    text = block.get("text")
    if date is None or not isinstance(text, str):
        return block
    return {**block, "text": _DATE.sub(f"Today's date is {date}.", text)}


def _recorded(usage: Any) -> int:
    """The input the provider billed for this answer, as the transcript recorded it."""
    if not isinstance(usage, dict):
        return 0
    return sum(int(usage.get(k) or 0) for k in ("input_tokens", "cache_read_input_tokens",
                                                 "cache_creation_input_tokens"))


def _request(prefix: dict[str, Any], model: str, messages: list[dict[str, Any]], session_id: str) -> dict[str, Any]:
    body: dict[str, Any] = {"model": model, "messages": _with_breakpoint(messages), "system": prefix["system"],
                            "tools": prefix["tools"], "metadata": {"user_id": f"replay-{session_id}"},
                            "max_tokens": prefix["max_tokens"], "stream": True}
    if prefix.get("thinking"):
        body["thinking"] = prefix["thinking"]
    return body
