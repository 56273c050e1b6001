"""Walking the tool-result texts of a request and replacing some of them (shared by the text stages).

Every text stage (``terminal``, ``linenums``, ``paths``) is a pure function of one tool-result text
(and of the name of the tool that produced it), so the same result gets the same bytes on every turn
and the walk itself decides nothing. This module finds the texts (a ``tool_result`` whose content is
a string, or the text parts of a list content), calls the stage's rewrite, builds the new request only
when something changed, and fills the stage's report: tokens before and after, the part of the saving
that sits in earlier turns (``history_tokens_saved``, priced as cache reads by the session report)
and the round-trip failures (``lossless_failures``, counted by ``lynkr replay``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, NamedTuple, TypeVar

from lynkr_cli.pipeline.base import StageReport

if TYPE_CHECKING:
    from lynkr_cli.canonical import ModelRequest
    from lynkr_cli.pipeline.state import SessionState


@dataclass(frozen=True)
class Rewrite:
    """What a stage made of one text: ``text`` None means left as it was.

    ``lossless_failure`` is set when the stage's own round trip (expanding its output) did not give
    the input back; the input is then kept, so a failure costs the saving, never the content.
    """

    text: str | None = None
    tokens_before: int = 0
    tokens_after: int = 0
    lossless_failure: bool = False


UNCHANGED = Rewrite()
T = TypeVar("T")
ToolOf = Callable[[str], str]  # tool_use id -> the name of the tool that produced it (looked up when asked)
RewriteFn = Callable[[str, str, ToolOf], Rewrite]  # (text, tool_use id, tool_of) -> Rewrite
TEXT_CACHE_CHARS = 2 << 20  # per stage: about two long sessions of tool results


class TextCache(Generic[T]):
    """A stage's results by tool-result text, within a character budget (oldest out first).

    Every turn resends every earlier tool result, so a stage sees the same texts again and again. An
    entry is found by the result's tool_use id and length (no hashing of the text on every turn: on
    long sessions that was most of a stage's time) and used only if its text is exactly the one asked
    about (one comparison); a different text under the same id is computed and replaces it. A result
    is a pure function of the text, so the cache is shared by all sessions and never changes an
    outcome. ``size`` tells how many characters a result holds besides its text.
    """

    def __init__(self, size: Callable[[T], int], budget_chars: int = TEXT_CACHE_CHARS) -> None:
        self.budget = budget_chars
        self.chars = 0
        self._size = size
        self._entries: dict[tuple[str, int], tuple[str, T, int]] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, text: str, compute: Callable[[], T], ident: str = "") -> T:
        key = (ident, len(text))
        found = self._entries.get(key)
        if found is not None and found[0] == text:
            return found[1]
        value = compute()
        size = len(text) + self._size(value)
        if size > self.budget:
            return value
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self.chars -= old[2]
            self._entries[key] = (text, value, size)
            self.chars += size
            while self.chars > self.budget:
                oldest = next(iter(self._entries))
                self.chars -= self._entries.pop(oldest)[2]
        return value


def rewrite_size(rewrite: Rewrite) -> int:
    return len(rewrite.text or "")


def tool_names(messages: list[Any]) -> dict[str, str]:
    """tool_use id -> tool name, over the whole conversation."""
    names: dict[str, str] = {}
    for message in messages:
        content = message.get("content") if isinstance(message, dict) else None
        if not isinstance(content, list):
            continue
        for block in content:
            if isinstance(block, dict) and block.get("type") == "tool_use":
                names[str(block.get("id"))] = str(block.get("name") or "")
    return names


class Located(NamedTuple):
    """One tool-result text of a request: message, block, text part (None: the block's content is the
    string itself), the tool_use id it answers, and the text."""

    message: int
    block: int
    part: int | None
    tool_use_id: str
    text: str


class ToolUse(NamedTuple):
    """One tool call of a request: message, block, id, tool name and input."""

    message: int
    block: int
    ident: str
    name: str
    arguments: Any


@dataclass
class Index:
    """Where a request's tool results and tool calls are (in conversation order)."""

    results: list[Located]
    uses: list[ToolUse]


def locate(request: ModelRequest, state: SessionState | None = None) -> list[Located]:
    """Every tool-result text of ``request``, in order (see ``index``)."""
    return index(request, state).results


def index(request: ModelRequest, state: SessionState | None = None) -> Index:
    """Every tool-result text and tool call of ``request``, in order.

    Every turn resends the whole conversation and five stages read it; the first one walks the
    messages and the others reuse the index (``state.located``, valid for exactly the messages list it
    was made from: a stage that rewrites texts hands on the updated index with its new messages)."""
    messages = request.body.get("messages")
    if state is not None and state.located is not None and state.located[0] is messages:
        found: Index = state.located[1]
        return found
    results: list[Located] = []
    uses: list[ToolUse] = []
    for number, message in enumerate(messages if type(messages) is list else []):
        content = message.get("content") if type(message) is dict else None
        if type(content) is not list:
            continue
        for position, block in enumerate(content):
            kind = block.get("type") if type(block) is dict else None
            if kind == "tool_use":
                uses.append(ToolUse(number, position, str(block.get("id")), str(block.get("name") or ""),
                                    block.get("input")))
            elif kind == "tool_result":
                _add_results(results, number, position, block)
    built = Index(results, uses)
    if state is not None:
        state.located = (messages, built)
    return built


def _add_results(results: list[Located], number: int, position: int, block: dict[str, Any]) -> None:
    tool_use_id = str(block.get("tool_use_id"))
    body = block.get("content")
    if type(body) is str:
        results.append(Located(number, position, None, tool_use_id, body))
    elif type(body) is list:
        for part_index, part in enumerate(body):
            if type(part) is dict and part.get("type") == "text" and type(part.get("text")) is str:
                results.append(Located(number, position, part_index, tool_use_id, part["text"]))


def replace_texts(request: ModelRequest, located: list[Located], replacements: dict[int, str],
                  state: SessionState | None = None) -> ModelRequest:
    """``request`` with ``located[i].text`` replaced by ``replacements[i]`` (only the messages and blocks
    that change are copied); the updated index goes on with the new messages list."""
    messages = list(request.body.get("messages") or [])
    updated = list(located)
    contents: dict[int, list[Any]] = {}
    parts: dict[tuple[int, int], list[Any]] = {}
    for i, text in replacements.items():
        entry = located[i]
        updated[i] = Located(entry.message, entry.block, entry.part, entry.tool_use_id, text)
        content = contents.get(entry.message)
        if content is None:
            content = contents[entry.message] = list(messages[entry.message]["content"])
        block = content[entry.block]
        if entry.part is None:
            content[entry.block] = {**block, "content": text}
            continue
        body = parts.get((entry.message, entry.block))
        if body is None:
            body = parts[(entry.message, entry.block)] = list(block["content"])
            content[entry.block] = {**block, "content": body}
        body[entry.part] = {**body[entry.part], "text": text}
    for index, content in contents.items():
        messages[index] = {**messages[index], "content": content}
    if state is not None:
        uses = state.located[1].uses if state.located is not None and state.located[1].results is located else None
        state.located = (messages, Index(updated, uses)) if uses is not None else None
    return request.with_body({**request.body, "messages": messages})


def rewrite_results(request: ModelRequest, rewrite: RewriteFn, report: StageReport,
                    state: SessionState | None = None) -> ModelRequest:
    """``request`` with each tool-result text replaced by ``rewrite`` (the same object if none was)."""
    located = locate(request, state)
    names: dict[str, str] | None = None

    def tool_of(tool_use_id: str) -> str:
        nonlocal names
        if names is None:
            names = tool_names(request.messages)
        return names.get(tool_use_id, "")

    last = len(request.body.get("messages") or []) - 1
    replacements: dict[int, str] = {}
    before = after = history = failures = 0
    for i, entry in enumerate(located):
        outcome = rewrite(entry.text, entry.tool_use_id, tool_of)
        if outcome.lossless_failure and entry.message == last:  # counted once, when the result is new
            failures += 1
        if outcome.text is None:
            continue
        replacements[i] = outcome.text
        before += outcome.tokens_before
        after += outcome.tokens_after
        if entry.message != last:
            history += outcome.tokens_before - outcome.tokens_after
    if failures:
        report.metrics["lossless_failures"] = failures
    report.decision = f"{len(replacements)} tool result(s) rewritten" if replacements else "nothing to rewrite"
    if not replacements:
        return request
    report.tokens_before, report.tokens_after = before, after
    report.changed = True
    report.metrics["history_tokens_saved"] = history
    report.metrics["results_rewritten"] = len(replacements)
    return replace_texts(request, located, replacements, state)


def checked(text: str, candidate: str | None, expand: Callable[[str], str | None]) -> Rewrite:
    """The rewrite of ``text`` into ``candidate`` if it saves tokens and expands back exactly.

    Shared last step of the text stages: no candidate, or one no shorter in o200k tokens, leaves the
    text as it was; a candidate whose expansion is not ``text`` is a lossless failure (kept out).
    """
    from lynkr_cli.tokens import count_text

    if candidate is None or candidate == text:
        return UNCHANGED
    if expand(candidate) != text:
        return Rewrite(lossless_failure=True)
    before, after = count_text(text), count_text(candidate)
    if after >= before:
        return UNCHANGED
    return Rewrite(candidate, before, after)
