"""What the router looks at in a request, extracted once into a plain record.

Everything here is a pure function of the canonical request body, so the same request always gives
the same features (and therefore the same route). Token figures are estimates (characters / 4): the
router needs an order of magnitude in microseconds, not the exact count the ledger gets from the
provider's ``usage``.

Claude Code specifics handled here (measured on 2.1.197): the user's words share a message with
``<system-reminder>`` blocks, which are not the user's and are stripped; ``messages`` may contain
``role: "system"`` entries (mid-conversation system notes), which are neither user nor assistant turns;
every main request carries ``thinking: {"type": "adaptive"}`` and ``output_config.effort: "high"``, which
are therefore no signal of an explicit thinking budget. Codex (0.169) sends its ``<environment_context>``
as a user message of its own before the prompt; it is stripped the same way.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

# Context agents attach to the user's message: Claude Code's reminders, Codex's environment and
# instructions blocks. Not the user's words.
_REMINDER = re.compile(
    r"<(system-reminder|environment_context|user_instructions|skills_instructions|permissions instructions)>"
    r".*?</\1>", re.S)
_COMMAND_TAGS = re.compile(r"</?(command-name|command-message|command-args|local-command-stdout)>")
_FILE_PATH = re.compile(
    r"(?:(?<=\s)|^|(?<=[`'\"(]))((?:\.{0,2}/)?(?:[\w.-]+/)*[\w-]+\.(?:py|js|ts|tsx|jsx|go|rs|java|kt|rb|php|c|h|cc|cpp|"
    r"hpp|cs|swift|sql|sh|yaml|yml|toml|json|md|html|css|scss|vue|svelte|tf|proto|lock|cfg|ini|env))\b"
)


# Earlier user turns are counted up to this many (the score's history dimension saturates before it),
# so a long session costs no more to route than a short one.
MAX_COUNTED_TURNS = 8


def chars_to_tokens(chars: int) -> int:
    """A deliberately cheap estimate; ~4 characters per token for English and code."""
    return (chars + 3) // 4


@dataclass(frozen=True)
class Features:
    """The facts about one request that routing decisions use."""

    text: str  # the user's own words in the last user turn (reminders stripped)
    text_tokens: int
    context_tokens: int  # system + tools + every message, estimated
    user_turns: int  # user messages with words of their own, up to MAX_COUNTED_TURNS
    turn_start: bool  # last user message is the user speaking, not a tool result coming back
    tool_results_in_turn: int  # tool round-trips since the user last spoke
    tools_available: int
    files_mentioned: int
    files_touched: int  # distinct file paths in this turn's tool calls
    code_blocks: int
    code_lines: int
    has_image: bool
    web_search: bool
    thinking_budget: int | None  # explicit ``thinking.budget_tokens``; None when not asked for
    reasoning_effort: str | None  # explicit effort asked by an OpenAI-style client ("high", …)
    requested_model: str | None
    system_text: str = field(repr=False, default="")


def _blocks(content: Any) -> list[Mapping[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if isinstance(content, list):
        return [b for b in content if isinstance(b, dict)]
    return []


def user_words(content: Any) -> str:
    """The text a person typed in one user message: text blocks minus Claude Code's reminders."""
    parts = []
    for block in _blocks(content):
        if block.get("type") == "text" and isinstance(block.get("text"), str):
            text = _COMMAND_TAGS.sub(" ", _REMINDER.sub("", block["text"])).strip()
            if text:
                parts.append(text)
    return "\n".join(parts)


def _has_words(content: Any) -> bool:
    """Cheap test for a user message with text of its own (not only a tool result or a reminder)."""
    if isinstance(content, str):
        return bool(content.strip())
    for block in _blocks(content):
        if block.get("type") == "text":
            text = block.get("text")
            if isinstance(text, str) and text.strip() and not (
                _REMINDER.fullmatch(text.strip()) is not None
            ):
                return True
    return False


def _is_tool_result_message(message: Mapping[str, Any]) -> bool:
    return any(b.get("type") == "tool_result" for b in _blocks(message.get("content")))


def system_text(system: Any) -> str:
    if isinstance(system, str):
        return system
    return "\n".join(b.get("text", "") for b in _blocks(system) if isinstance(b.get("text"), str))


def _conversation(messages: Iterable[Any]) -> list[Mapping[str, Any]]:
    return [m for m in messages if isinstance(m, dict) and m.get("role") in ("user", "assistant")]


def _tool_paths(messages: list[Mapping[str, Any]]) -> set[str]:
    paths: set[str] = set()
    for message in messages:
        for block in _blocks(message.get("content")):
            if block.get("type") == "tool_use" and isinstance(block.get("input"), dict):
                for key in ("file_path", "path", "notebook_path"):
                    value = block["input"].get(key)
                    if isinstance(value, str):
                        paths.add(value)
    return paths


def _thinking_budget(body: Mapping[str, Any]) -> int | None:
    thinking = body.get("thinking")
    if isinstance(thinking, dict) and thinking.get("type") == "enabled":
        budget = thinking.get("budget_tokens")
        return budget if isinstance(budget, int) else 0
    return None


def _effort(body: Mapping[str, Any], extras: Mapping[str, Any]) -> str | None:
    for source in (extras.get("reasoning"), body.get("reasoning")):
        effort = source.get("effort") if isinstance(source, dict) else None
        if isinstance(effort, str):
            return effort
    effort = extras.get("reasoning_effort")
    return effort if isinstance(effort, str) else None


def extract(body: Mapping[str, Any], extras: Mapping[str, Any] | None = None, size_hint: int | None = None) -> Features:
    """The features of one canonical (Anthropic-shaped) request body.

    ``size_hint`` is the body's size in bytes when known (the client's original bytes): it stands in
    for the context size and spares serializing a large body again.
    """
    messages = _conversation(body.get("messages") or [])
    user_indexes = []  # the last few user messages with words, newest last; the tail is enough
    for i in range(len(messages) - 1, -1, -1):
        if messages[i].get("role") == "user" and _has_words(messages[i].get("content")):
            user_indexes.append(i)
            if len(user_indexes) >= MAX_COUNTED_TURNS:
                break
    user_indexes.reverse()
    text = ""
    while user_indexes:  # the last message with words once reminders are stripped (usually the first tried)
        text = user_words(messages[user_indexes[-1]].get("content"))
        if text:
            break
        user_indexes.pop()
    last_user_index = user_indexes[-1] if user_indexes else -1
    last = messages[-1] if messages else None
    turn_start = bool(last is not None and last.get("role") == "user" and not _is_tool_result_message(last))
    turn = messages[last_user_index + 1:] if user_indexes else messages
    tool_results = sum(1 for m in turn if m.get("role") == "user" and _is_tool_result_message(m))
    last_user_blocks = _blocks(messages[last_user_index].get("content")) if user_indexes else []
    tools = [t for t in body.get("tools") or [] if isinstance(t, dict)]
    sys_text = system_text(body.get("system"))
    if size_hint is not None:
        context_chars = size_hint
    else:
        context_chars = len(json.dumps(body.get("messages") or [], ensure_ascii=False)) + len(sys_text)
        context_chars += len(json.dumps(tools, ensure_ascii=False)) if tools else 0
    fences = text.count("```") // 2
    code_lines = _code_lines(text)
    return Features(
        text=text,
        text_tokens=chars_to_tokens(len(text)),
        context_tokens=chars_to_tokens(context_chars),
        user_turns=len(user_indexes),
        turn_start=turn_start,
        tool_results_in_turn=tool_results,
        tools_available=len(tools),
        files_mentioned=len(set(_FILE_PATH.findall(text))),
        files_touched=len(_tool_paths(list(turn))),
        code_blocks=fences,
        code_lines=code_lines,
        has_image=any(b.get("type") == "image" for b in last_user_blocks)
        or any(b.get("type") == "image" for m in turn for b in _tool_result_blocks(m)),
        web_search=any(str(t.get("type", "")).startswith("web_search") for t in tools),
        thinking_budget=_thinking_budget(body),
        reasoning_effort=_effort(body, extras or {}),
        requested_model=body.get("model") if isinstance(body.get("model"), str) else None,
        system_text=sys_text,
    )


def _tool_result_blocks(message: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    blocks: list[Mapping[str, Any]] = []
    for block in _blocks(message.get("content")):
        if block.get("type") == "tool_result":
            blocks.extend(_blocks(block.get("content")))
    return blocks


_CODE_LINE = re.compile(
    r"^\s*(def |class |function |const |let |var |import |from \S+ import|return |if \(|for \(|while \(|#include|"
    r"public |private |fn |func |package |SELECT |INSERT |UPDATE |CREATE |\}|\{|.*;\s*$|.*\)\s*\{\s*$|@\w+)",
)


def _code_lines(text: str) -> int:
    return sum(1 for line in text.splitlines() if _CODE_LINE.match(line))
