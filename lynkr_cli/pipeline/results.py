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
from functools import partial
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
ToolOf = Callable[[], str]  # the name of the tool that produced a result, looked up only when asked
RewriteFn = Callable[[str, ToolOf], Rewrite]  # (text, tool) -> Rewrite
TEXT_CACHE_CHARS = 4 << 20


class TextCache(Generic[T]):
    """A stage's results by exact tool-result text, within a character budget (oldest out first).

    Every turn resends every earlier tool result, so a stage sees the same texts again and again;
    looking a text up here costs its hash (computed once per string object, shared by the stages
    that see the same object) and one comparison, instead of a scan of the text. A result is a pure
    function of the text, so the cache is shared by all sessions and never changes an outcome.
    ``size`` tells how many characters a result holds besides its key.
    """

    def __init__(self, size: Callable[[T], int], budget_chars: int = TEXT_CACHE_CHARS) -> None:
        self.budget = budget_chars
        self.chars = 0
        self._size = size
        self._entries: dict[str, tuple[T, int]] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, text: str, compute: Callable[[], T]) -> T:
        found = self._entries.get(text)
        if found is not None:
            return found[0]
        value = compute()
        size = len(text) + self._size(value)
        if size > self.budget:
            return value
        with self._lock:
            if text not in self._entries:
                self._entries[text] = (value, size)
                self.chars += size
            while self.chars > self.budget:
                oldest = next(iter(self._entries))
                self.chars -= self._entries.pop(oldest)[1]
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
    """``request`` with each tool-result text replaced by ``rewrite`` (the same object if none was)."""
    messages = request.messages
    names: dict[str, str] | None = None

    def tool_of(tool_use_id: str) -> str:
        nonlocal names
        if names is None:
            names = tool_names(messages)
        return names.get(tool_use_id, "")

    last = len(messages) - 1
    new_messages: list[Any] | None = None
    history_saved = failures = rewritten = 0
    for index, message in enumerate(messages):
        content = message.get("content") if isinstance(message, dict) else None
        if not isinstance(content, list):
            continue
        new_content: list[Any] | None = None
        for position, block in enumerate(content):
            if not isinstance(block, dict) or block.get("type") != "tool_result":
                continue
            tool_use_id = str(block.get("tool_use_id"))
            new_block, outcomes = _rewrite_block(block, partial(tool_of, tool_use_id), rewrite)
            for outcome in outcomes:
                failures += int(outcome.lossless_failure and index == last)  # once, when the result is new
                if outcome.text is None:
                    continue
                rewritten += 1
                report.tokens_before += outcome.tokens_before
                report.tokens_after += outcome.tokens_after
                if index != last:
                    history_saved += outcome.tokens_before - outcome.tokens_after
            if new_block is not block:
                if new_content is None:
                    new_content = list(content)
                new_content[position] = new_block
        if new_content is not None:
            if new_messages is None:
                new_messages = list(messages)
            new_messages[index] = {**message, "content": new_content}
    if failures:
        report.metrics["lossless_failures"] = failures
    report.decision = f"{rewritten} tool result(s) rewritten" if rewritten else "nothing to rewrite"
    if new_messages is None:
        return request
    report.changed = True
    report.metrics["history_tokens_saved"] = history_saved
    report.metrics["results_rewritten"] = rewritten
    return request.with_body({**request.body, "messages": new_messages})


def _rewrite_block(block: dict[str, Any], tool: ToolOf, rewrite: RewriteFn) -> tuple[dict[str, Any], list[Rewrite]]:
    content = block.get("content")
    if isinstance(content, str):
        outcome = rewrite(content, tool)
        return (block if outcome.text is None else {**block, "content": outcome.text}), [outcome]
    if not isinstance(content, list):
        return block, []
    outcomes: list[Rewrite] = []
    new_parts: list[Any] | None = None
    for i, part in enumerate(content):
        if not isinstance(part, dict) or part.get("type") != "text" or not isinstance(part.get("text"), str):
            continue
        outcome = rewrite(part["text"], tool)
        outcomes.append(outcome)
        if outcome.text is not None:
            if new_parts is None:
                new_parts = list(content)
            new_parts[i] = {**part, "text": outcome.text}
    if new_parts is None:
        return block, outcomes
    return {**block, "content": new_parts}, outcomes


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
