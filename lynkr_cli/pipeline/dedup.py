"""Stage ``dedup``: content the model has already seen becomes a reference to where it saw it.

Agents read the same lines again and again: overlapping ``sed -n`` ranges, a file read back after it
was written or edited, the same test run twice, a whole output repeated. Each run of at least
``MIN_LINES`` lines of a tool result that appears line for line in an earlier tool result, or in
the content of an earlier Write or the new text of an Edit, becomes one line (``refs.py``)::

    [lines 54-200: same as lines 52-198 of the previous output of Read /src/app.py]

Prefix-stable by construction: a tool result's rewrite depends only on its own text and on what
comes before it in the conversation, so it is decided when the result first appears and is the same
bytes on every later turn, in a restarted proxy too (``claude --resume``). Lossless: every rewrite is
expanded back (``refs.expand_text``, against the same earlier content) and kept only if that gives the
exact original; otherwise the result stays as it was and the failure is counted.

Every turn resends the whole conversation, so the scan is incremental: the index of what the
conversation has shown so far is the stage's progress through it (``progress.py``), and a request
that continues it is only scanned from its new messages. This is only for speed: without it the same
request gives the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lynkr_cli.pipeline import refs
from lynkr_cli.pipeline.base import StageReport
from lynkr_cli.pipeline.progress import (
    AFTER,
    BEFORE,
    FAILURES,
    REWRITTEN,
    Done,
    Edit,
    Progress,
    follow,
    progress_for,
    texts_of,
)
from lynkr_cli.pipeline.results import fill_report

if TYPE_CHECKING:
    from lynkr_cli.canonical import ModelRequest
    from lynkr_cli.pipeline.state import SessionState

MIN_LINES = 3
MIN_RUN_CHARS = 240  # a reference costs ~25-40 tokens: shorter runs are kept as they are
CANDIDATES = 8  # earlier places tried per line pair (the most recent first)


@dataclass
class _Source:
    key: refs.Key
    view: refs.View
    ordinal: int  # its place among the contents of the same key (0: the first)
    literal_end: list[int]  # per view line: where the run of lines shown as they are ends (0: not shown)


@dataclass(frozen=True)
class Outcome:
    """What one tool-result text became (``text`` None: as it was)."""

    text: str | None = None
    tokens_before: int = 0
    tokens_after: int = 0
    references: int = 0
    lossless_failure: bool = False


@dataclass
class Scan:
    """The index of one conversation up to some point, and what its tool results became."""

    sources: list[_Source] = field(default_factory=list)
    by_key: dict[refs.Key, list[int]] = field(default_factory=dict)
    pairs: dict[tuple[str, str], list[tuple[int, int]]] = field(default_factory=dict)
    labels: dict[str, refs.Key] = field(default_factory=dict)  # tool_use id -> key of its output

    def rank(self, sid: int) -> int:
        """1 for the latest content of its key, 2 for the one before, ... (as of now)."""
        source = self.sources[sid]
        return len(self.by_key[source.key]) - source.ordinal

    def resolve(self, desc: str) -> refs.View | None:
        parsed = refs.parse_desc(desc)
        if parsed is None:
            return None
        key, rank = parsed
        sids = self.by_key.get(key, [])
        return self.sources[sids[-rank]].view if rank <= len(sids) else None

    def add_source(self, key: refs.Key, text: str, literal: list[tuple[int, int]] | None = None,
                   source_view: refs.View | None = None) -> None:
        """Index ``text`` (whose view is ``source_view``, when already made) as the latest content
        called ``key``.

        ``literal``: the ranges of view lines the model sees as they are (a result's lines that were not
        themselves replaced by a reference); None: all of them. Only those are ever referenced."""
        sid = len(self.sources)
        if source_view is None:
            source_view = refs.view(text)
        contents = source_view.contents
        ranges = literal if literal is not None else [(0, len(contents))]
        literal_end = [0] * len(contents)
        for lo, hi in ranges:
            literal_end[lo:hi] = [hi] * (hi - lo)
        sids = self.by_key.setdefault(key, [])
        self.sources.append(_Source(key, source_view, len(sids), literal_end))
        sids.append(sid)
        pairs = self.pairs
        for lo, hi in ranges:
            for k, pair in enumerate(zip(contents[lo:hi - 1], contents[lo + 1:hi]), lo):
                found = pairs.get(pair)
                if found is None:
                    pairs[pair] = [(sid, k)]
                else:
                    found.append((sid, k))

    def longest(self, contents: list[str], i: int, end: int) -> tuple[int, int, int]:
        """(source id, index in its view, length) of the longest earlier run starting at ``contents[i]``."""
        best = (0, 0, 0)
        found = self.pairs.get((contents[i], contents[i + 1]))
        if not found:
            return best
        for sid, k in reversed(found[-CANDIDATES:]):
            if self.rank(sid) > len(refs.WHICH):
                continue  # too far back to be named
            source = self.sources[sid]
            theirs = source.view.contents
            limit = min(end - i, source.literal_end[k] - k)
            length = 2
            while length < limit and contents[i + length] == theirs[k + length]:
                length += 1
            if length > best[2]:
                best = (sid, k, length)
        return best


def _references(target: refs.View, scan: Scan) -> tuple[str, list[tuple[int, int]], int] | None:
    """(rewritten text, literal view ranges, references) of a new tool result (its view), or None."""
    contents = target.contents
    start = 1 if target.numbered else 0  # a listing's first line shows its number format
    end = len(contents)
    runs: list[tuple[int, int, int, int]] = []  # (start in view, length, source id, index in source)
    i = start
    while i + MIN_LINES <= end:
        sid, k, length = scan.longest(contents, i, end)
        if length >= MIN_LINES and sum(len(c) + 1 for c in contents[i:i + length]) >= MIN_RUN_CHARS:
            runs.append((i, length, sid, k))
            i += length
        else:
            i += 1
    if not runs:
        return None
    lines = target.lines
    out: list[str] = lines[:target.start]
    literal: list[tuple[int, int]] = []
    position = 0
    for i, length, sid, k in runs:
        out.extend(lines[target.start + position:target.start + i])
        literal.append((position, i))
        source = scan.sources[sid]
        a = target.first + i
        c = source.view.first + k
        out.append(refs.mark(a, a + length - 1, c, c + length - 1, refs.describe(source.key, scan.rank(sid))))
        position = i + length
    out.extend(lines[target.start + position:])
    literal.append((position, end))
    return "\n".join(out), literal, len(runs)


def rewrite_result(text: str, key: refs.Key | None, scan: Scan) -> Outcome:
    """Rewrite one new tool result against everything before it, then index it (pure in ``scan``'s
    content: the same earlier conversation gives the same rewrite)."""
    if key is None:
        return Outcome()
    target = refs.view(text)
    found = None if refs.has_mark(text) else _references(target, scan)
    outcome = Outcome()
    literal = None
    if found is not None:
        candidate, literal, count = found
        if refs.expand_text(candidate, scan.resolve) != text:
            outcome, literal = Outcome(lossless_failure=True), None
        else:
            from lynkr_cli.pipeline.counting import count_text

            before, after = count_text(text), count_text(candidate)
            if after < before:
                outcome = Outcome(candidate, before, after, count)
            else:
                literal = None
    scan.add_source(key, text, literal, target)
    return outcome


# --- walking a conversation ----------------------------------------------------------------------

REFERENCES = 4  # a message's counts (progress.py): before, after, rewritten, failures, references
WIDTH = REFERENCES + 1


def _blocks(content: list[Any], start: int, scan: Scan) -> Done:
    """What dedup makes of ``content[start:]``: its calls (and what Write/Edit put in files) and its
    tool results, in order, go into the conversation's index; each result is rewritten against
    everything before it."""
    edits: list[Edit] = []
    counts = [0] * WIDTH
    for position in range(start, len(content)):
        block = content[position]
        kind = block.get("type") if type(block) is dict else None
        if kind == "tool_use":
            name, arguments = str(block.get("name") or ""), block.get("input")
            scan.labels[str(block.get("id"))] = refs.output_key(name, arguments)
            for key, text in refs.written_sources(name, arguments):
                scan.add_source(key, text)
        elif kind == "tool_result":
            for found in texts_of(block, position):
                outcome = rewrite_result(found.text, scan.labels.get(found.tool_use_id), scan)
                counts[FAILURES] += outcome.lossless_failure
                if outcome.text is None:
                    continue
                edits.append((found.block, found.part, outcome.text))
                counts[BEFORE] += outcome.tokens_before
                counts[AFTER] += outcome.tokens_after
                counts[REWRITTEN] += 1
                counts[REFERENCES] += outcome.references
    return Done(tuple(edits), tuple(counts) if any(counts) else None)


class Deduplicate:
    """The ``dedup`` stage (see the module docstring)."""

    name = "dedup"

    def apply(self, request: ModelRequest, state: SessionState) -> tuple[ModelRequest, StageReport]:
        report = StageReport(stage=self.name)
        progress: Progress[Scan] = progress_for(self.name, Scan, WIDTH)
        out = follow(request, progress, _blocks)
        fill_report(report, progress)
        if out is request:
            report.decision = "no repeated content"
            return request, report
        total = progress.total
        report.decision = f"{total[REFERENCES]} reference(s) in {total[REWRITTEN]} tool result(s)"
        report.metrics["references"] = total[REFERENCES]
        return out, report
