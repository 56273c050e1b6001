"""Rewriting the tool-result texts of a request (shared by the text stages).

Every text stage (``terminal``, ``linenums``, ``paths``) is a pure function of one tool-result text
(and of the name of the tool that produced it), so the same result gets the same bytes on every turn
and the walk itself decides nothing. This module finds the texts of the messages new in the request
(a ``tool_result`` whose content is a string, or the text parts of a list content; ``progress.py``
keeps what the stage made of the earlier ones), calls the stage's rewrite, builds the new request
only when something changed, and fills the stage's report: tokens before and after, the part of the
saving that sits in earlier turns (``history_tokens_saved``, priced as cache reads by the session
report) and the round-trip failures (``lossless_failures``, counted by ``lynkr replay``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from lynkr_cli.pipeline.base import StageReport
from lynkr_cli.pipeline.progress import (
    AFTER,
    BEFORE,
    FAILURES,
    REWRITTEN,
    NOTHING,
    Done,
    Edit,
    Progress,
    follow,
    progress_for,
    result_texts,
)

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


class TextStage:
    """A stage that is a pure function of each tool-result text (``terminal``, ``paths``,
    ``linenums``): each result's rewrite is remembered by tool_use id and exact text (``TextCache``),
    and only the messages new in the conversation are looked at (``rewrite_results``)."""

    name = ""

    def __init__(self, rewrite_text: Callable[[str], Rewrite]) -> None:
        self._rewrite_text = rewrite_text
        self._cache: TextCache[Rewrite] = TextCache(rewrite_size)

    def skips(self, text: str, tool_use_id: str, tool_of: ToolOf) -> bool:
        """True for a text the stage leaves alone on a cheap test, before its cache is looked at."""
        return False

    def apply(self, request: ModelRequest, state: SessionState) -> tuple[ModelRequest, StageReport]:
        report = StageReport(stage=self.name)
        cache, rewrite_text = self._cache, self._rewrite_text

        def rewrite(text: str, tool_use_id: str, tool_of: ToolOf) -> Rewrite:
            if self.skips(text, tool_use_id, tool_of):
                return UNCHANGED
            return cache.get(text, lambda: rewrite_text(text), tool_use_id)

        return rewrite_results(request, rewrite, report), report


def rewrite_results(request: ModelRequest, rewrite: RewriteFn, report: StageReport) -> ModelRequest:
    """``request`` with each tool-result text replaced by ``rewrite`` (the same object if none was).

    Only the messages new since the previous request of the conversation are looked at
    (``progress.py``); the report counts every rewritten text of the request."""
    progress: Progress[dict[str, str]] = progress_for(report.stage, dict)
    out = follow(request, progress, lambda content, start, names: _rewrite_blocks(content, start, names, rewrite))
    fill_report(report, progress)
    return out


def _rewrite_blocks(content: list[Any], start: int, names: dict[str, str], rewrite: RewriteFn) -> Done:
    """What ``rewrite`` makes of the tool-result texts of ``content[start:]``; ``names`` (tool_use id
    -> tool name, as far as the conversation has come) learns the blocks' own calls first."""
    for position in range(start, len(content)):
        block = content[position]
        if type(block) is dict and block.get("type") == "tool_use":
            names[str(block.get("id"))] = str(block.get("name") or "")

    def tool_of(tool_use_id: str) -> str:
        return names.get(tool_use_id, "")

    edits: list[Edit] = []
    before = after = failures = 0
    for found in result_texts(content, start):
        outcome = rewrite(found.text, found.tool_use_id, tool_of)
        failures += outcome.lossless_failure
        if outcome.text is None:
            continue
        edits.append((found.block, found.part, outcome.text))
        before += outcome.tokens_before
        after += outcome.tokens_after
    if not edits:
        return Done(counts=(0, 0, 0, failures)) if failures else NOTHING
    return Done(tuple(edits), (before, after, len(edits), failures))


def fill_report(report: StageReport, progress: Progress[Any], rewritten: str = "tool result(s) rewritten") -> None:
    """The report of a stage that rewrites tool-result texts, from its running totals: tokens of every
    rewritten text of the request, the part of the saving in earlier turns (``history_tokens_saved``,
    priced as cache reads by the session report) and the round-trip failures of the newest message
    (``lossless_failures``: counted once, when the result is new; ``lynkr replay`` adds them up)."""
    total, newest = progress.total, progress.newest
    if newest[FAILURES]:
        report.metrics["lossless_failures"] = newest[FAILURES]
    if not progress.any_changed:
        report.decision = "nothing to rewrite"
        return
    report.changed = True
    report.tokens_before, report.tokens_after = total[BEFORE], total[AFTER]
    saved = total[BEFORE] - total[AFTER]
    report.metrics["history_tokens_saved"] = saved - (newest[BEFORE] - newest[AFTER])
    report.metrics["results_rewritten"] = total[REWRITTEN]
    report.decision = f"{total[REWRITTEN]} {rewritten}"


def checked(text: str, candidate: str | None, expand: Callable[[str], str | None]) -> Rewrite:
    """The rewrite of ``text`` into ``candidate`` if it saves tokens and expands back exactly.

    Shared last step of the text stages: no candidate, or one no shorter in o200k tokens, leaves the
    text as it was; a candidate whose expansion is not ``text`` is a lossless failure (kept out).
    """
    from lynkr_cli.pipeline.counting import count_text

    if candidate is None or candidate == text:
        return UNCHANGED
    if expand(candidate) != text:
        return Rewrite(lossless_failure=True)
    before, after = count_text(text), count_text(candidate)
    if after >= before:
        return UNCHANGED
    return Rewrite(candidate, before, after)
