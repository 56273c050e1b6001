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
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from lynkr_cli.pipeline.base import StageReport

if TYPE_CHECKING:
    from lynkr_cli.canonical import ModelRequest


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
TEXT_CACHE_CHARS = 4 << 20


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


def rewrite_results(request: ModelRequest, rewrite: RewriteFn, report: StageReport) -> ModelRequest:
    """``request`` with each tool-result text replaced by ``rewrite`` (the same object if none was).

    Every turn walks the whole conversation once per text stage, so the walk allocates nothing for a
    result that stays as it was (the common case on every turn after the first)."""
    messages = request.messages
    names: dict[str, str] | None = None

    def tool_of(tool_use_id: str) -> str:
        nonlocal names
        if names is None:
            names = tool_names(messages)
        return names.get(tool_use_id, "")

    last = len(messages) - 1
    new_messages: list[Any] | None = None
    tally = _Tally()
    for index, message in enumerate(messages):
        content = message.get("content") if type(message) is dict else None
        if type(content) is not list:
            continue
        new_content: list[Any] | None = None
        for position, block in enumerate(content):
            if type(block) is not dict or block.get("type") != "tool_result":
                continue
            tool_use_id = str(block.get("tool_use_id"))
            body = block.get("content")
            if type(body) is str:
                outcome = rewrite(body, tool_use_id, tool_of)
                tally.add(outcome, index == last)
                if outcome.text is None:
                    continue
                new_block: dict[str, Any] = {**block, "content": outcome.text}
            elif type(body) is list:
                parts = _rewrite_parts(body, tool_use_id, tool_of, rewrite, tally, index == last)
                if parts is None:
                    continue
                new_block = {**block, "content": parts}
            else:
                continue
            if new_content is None:
                new_content = list(content)
            new_content[position] = new_block
        if new_content is not None:
            if new_messages is None:
                new_messages = list(messages)
            new_messages[index] = {**message, "content": new_content}
    if tally.failures:
        report.metrics["lossless_failures"] = tally.failures
    report.decision = f"{tally.rewritten} tool result(s) rewritten" if tally.rewritten else "nothing to rewrite"
    if new_messages is None:
        return request
    report.tokens_before, report.tokens_after = tally.before, tally.after
    report.changed = True
    report.metrics["history_tokens_saved"] = tally.history
    report.metrics["results_rewritten"] = tally.rewritten
    return request.with_body({**request.body, "messages": new_messages})


class _Tally:
    """A stage's counts over one request."""

    __slots__ = ("after", "before", "failures", "history", "rewritten")

    def __init__(self) -> None:
        self.before = self.after = self.history = self.failures = self.rewritten = 0

    def add(self, outcome: Rewrite, newest: bool) -> None:
        if outcome.lossless_failure and newest:  # counted once, when the result is new
            self.failures += 1
        if outcome.text is None:
            return
        self.rewritten += 1
        self.before += outcome.tokens_before
        self.after += outcome.tokens_after
        if not newest:
            self.history += outcome.tokens_before - outcome.tokens_after


def _rewrite_parts(parts: list[Any], tool_use_id: str, tool_of: ToolOf, rewrite: RewriteFn, tally: _Tally,
                   newest: bool) -> list[Any] | None:
    new_parts: list[Any] | None = None
    for i, part in enumerate(parts):
        if type(part) is not dict or part.get("type") != "text" or type(part.get("text")) is not str:
            continue
        outcome = rewrite(part["text"], tool_use_id, tool_of)
        tally.add(outcome, newest)
        if outcome.text is not None:
            if new_parts is None:
                new_parts = list(parts)
            new_parts[i] = {**part, "text": outcome.text}
    return new_parts


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
