"""Stage ``compress``: lossless tool-result compression.

Every ``tool_result`` block (OpenAI tool messages arrive as these too, via the inbound adapters) is
rewritten by a pure function of its text and the config:

- JSON above a size floor becomes the smaller, by o200k token count, of TOON and minified JSON.
  TOON wins on uniform arrays of objects (grep hits, file lists) and loses on deep, irregular data,
  hence the measurement per result. A TOON candidate is used only if decoding it gives back exactly
  the original value.
- Other text loses ANSI escapes, trailing blanks and exact consecutive repeats (kept as a count).
- Opt-in lossy mode: a text output still above a token threshold keeps its head and tail; the
  marker in its place says what was elided and how to get it back (the full text is returned as an
  artifact for the caller to store; the stage itself does no I/O).

Because the result depends only on the block's text and the config, the same tool result gets the
same bytes on every turn: the prompt-cache prefix stays valid. Historic results are rewritten the
same way they were when they were new.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lynkr_cli.pipeline.base import StageReport
from lynkr_cli.pipeline.config import CompressConfig
from lynkr_cli.pipeline.progress import (
    AFTER,
    BEFORE,
    REWRITTEN,
    Done,
    Edit,
    Progress,
    follow,
    progress_for,
    result_texts,
)
from lynkr_cli.pipeline.results import TextCache
from lynkr_cli.pipeline.textclean import clean_text

if TYPE_CHECKING:
    from lynkr_cli.canonical import ModelRequest
    from lynkr_cli.pipeline.state import SessionState

ELIDED_MARK = (
    "[lynkr elided lines {first}-{last} of {total} ({count} lines, ~{tokens} tokens) of this output. "
    "The full text is saved: lynkr optimize --show-elided {ref}]"
)


@dataclass(frozen=True)
class Outcome:
    """How one tool-result text was rewritten (``text is None``: left as it was)."""

    representation: str
    text: str | None = None
    tokens_before: int = 0
    tokens_after: int = 0
    elided_ref: str | None = None
    elided_text: str | None = None


AS_IS = Outcome("as-is")
REPRESENTATIONS = ("as-is", "json-min", "text-clean", "text-elided", "toon")
COUNTS = 4  # a message's counts (progress.py): before, after, rewritten, failures, then one per representation
WIDTH = COUNTS + len(REPRESENTATIONS)


class _NotPlainJson(ValueError):
    pass


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise _NotPlainJson("duplicate keys")  # parsing would silently drop one of them
    return dict(pairs)


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _NotPlainJson("number out of float range")
    return value


def parse_json(text: str) -> Any | None:
    """The JSON object or array in ``text``, or None when it is not one that round-trips exactly."""
    head = text.lstrip()[:1]
    if head not in ("{", "["):
        return None
    try:
        return json.loads(text, object_pairs_hook=_reject_duplicates, parse_float=_finite_float,
                          parse_constant=lambda name: (_ for _ in ()).throw(_NotPlainJson(name)))
    except (ValueError, RecursionError):
        return None


def minified(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def toon_text(value: Any) -> str | None:
    import toon_format

    try:
        return toon_format.encode(value)
    except Exception:  # toon-format raising on some value shape just means: no TOON candidate
        return None


def toon_is_exact(text: str, value: Any, min_run: int) -> bool:
    """True if ``text`` decodes back to exactly ``value`` and survives the text cleaner unchanged
    (so the stage stays idempotent). Checked only for a TOON text about to be used (decoding is the
    slow half: ~12 ms for 60 grep rows)."""
    import toon_format

    if clean_text(text, min_run) != text:
        return False
    try:
        back = toon_format.decode(text)
    except Exception:
        return False
    return minified(back) == minified(value)


def compress_json(text: str, value: Any, config: CompressConfig, tokens_before: int | None = None) -> Outcome:
    from lynkr_cli.pipeline.counting import count_text

    before = count_text(text) if tokens_before is None else tokens_before
    best_name, best = "json-min", minified(value)
    best_tokens = count_text(best)
    toon = toon_text(value)
    if toon is not None:
        toon_tokens = count_text(toon)
        if toon_tokens < best_tokens and toon_is_exact(toon, value, config.repeat_min):
            best_name, best, best_tokens = "toon", toon, toon_tokens
    if best_tokens >= before or best == text:
        return Outcome("as-is", tokens_before=before, tokens_after=before)
    return Outcome(best_name, best, before, best_tokens)


def elide(text: str, config: CompressConfig) -> Outcome | None:
    """Head and tail of a huge text with a marker in between, or None if it is not huge."""
    from lynkr_cli.pipeline.counting import count_text

    tokens = count_text(text)
    lines = text.split("\n")
    head, tail = config.lossy_head_lines, config.lossy_tail_lines
    if tokens <= config.lossy_threshold_tokens or len(lines) <= head + tail + 1:
        return None
    middle = lines[head:len(lines) - tail] if tail else lines[head:]
    ref = hashlib.sha256(text.encode()).hexdigest()[:20]
    mark = ELIDED_MARK.format(first=head + 1, last=head + len(middle), total=len(lines), count=len(middle),
                              tokens=count_text("\n".join(middle)), ref=ref)
    kept = lines[:head] + [mark] + (lines[len(lines) - tail:] if tail else [])
    short = "\n".join(kept)
    return Outcome("text-elided", short, tokens, count_text(short), elided_ref=ref, elided_text=text)


HEADER_MAX_CHARS = 600
COMPRESS_CACHE_CHARS = 6 << 20


def _json_after_header(text: str, config: CompressConfig) -> tuple[str, str, Any] | None:
    """(header, json text, value) when ``text`` is a few header lines followed by a JSON document,
    e.g. Codex's exec output (``Chunk ID: …\nProcess exited with code 0\nOutput:\n{…}``)."""
    if len(text) < config.json_floor_chars:
        return None
    start = 0
    for _ in range(12):
        newline = text.find("\n", start, HEADER_MAX_CHARS)
        if newline < 0:
            return None
        start = newline + 1
        if text[start:start + 1] in ("{", "["):
            value = parse_json(text[start:])
            if value is not None:
                return text[:start], text[start:], value
    return None


def compress_text(text: str, config: CompressConfig) -> Outcome:
    """The rewrite of one tool-result text (pure; idempotent)."""
    from lynkr_cli.pipeline.counting import count_text

    value = parse_json(text) if len(text) >= config.json_floor_chars else None
    if value is not None:
        return compress_json(text, value, config)
    split = _json_after_header(text, config)
    if split is not None:
        header, body, value = split
        outcome = compress_json(body, value, config)
        if outcome.text is not None:
            before = count_text(text)
            rewritten = header + outcome.text
            return Outcome(outcome.representation, rewritten, before, count_text(rewritten))
    cleaned = clean_text(text, config.repeat_min)
    value = parse_json(cleaned) if cleaned != text and len(cleaned) >= config.json_floor_chars else None
    if value is not None:  # JSON wrapped in colour codes or trailing blanks
        outcome = compress_json(cleaned, value, config)
        if outcome.text is not None:
            return Outcome(outcome.representation, outcome.text, count_text(text), outcome.tokens_after)
    if config.lossy:
        elided = elide(cleaned, config)
        if elided is not None:
            return Outcome(elided.representation, elided.text, count_text(text), elided.tokens_after,
                           elided.elided_ref, elided.elided_text)
    if cleaned == text:
        return AS_IS
    return Outcome("text-clean", cleaned, count_text(text), count_text(cleaned))


class CompressToolResults:
    """The ``compress`` stage (see the module docstring)."""

    name = "compress"

    def __init__(self, config: CompressConfig | None = None) -> None:
        self.config = config or CompressConfig()
        # By tool_use id and exact text (no hashing of every result on every turn); a larger budget than
        # the other text stages because a miss here costs a tokenization, not a scan.
        self._cache: TextCache[Outcome] = TextCache(_outcome_size, COMPRESS_CACHE_CHARS)

    def _outcome(self, text: str, ident: str) -> Outcome:
        return self._cache.get(text, lambda: compress_text(text, self.config), ident)

    def apply(self, request: ModelRequest, state: SessionState) -> tuple[ModelRequest, StageReport]:
        report = StageReport(stage=self.name)
        progress: Progress[list[tuple[str, str]]] = progress_for(self.name, list, WIDTH)
        out = follow(request, progress, self._blocks)
        total = progress.total
        report.items = list(progress.newest_items)
        counts = {name: total[COUNTS + i] for i, name in enumerate(REPRESENTATIONS) if total[COUNTS + i]}
        report.decision = ", ".join(f"{n} {name}" for name, n in sorted(counts.items())) or "no tool results"
        if out is request:
            return request, report
        report.changed = True
        report.tokens_before, report.tokens_after = total[BEFORE], total[AFTER]
        newest = progress.newest
        report.metrics["history_tokens_saved"] = (total[BEFORE] - total[AFTER]) - (newest[BEFORE] - newest[AFTER])
        for ref, text in progress.context:  # every elision of the request: saving one again keeps it
            report.artifacts[ref] = text
        return out, report

    def _blocks(self, content: list[Any], start: int, elisions: list[tuple[str, str]]) -> Done:
        """What the stage makes of the tool results in ``content[start:]`` (``elisions``: the
        conversation's so far)."""
        edits: list[Edit] = []
        counts = [0] * WIDTH
        items = []
        for found in result_texts(content, start):
            outcome = self._outcome(found.text, found.tool_use_id)
            counts[COUNTS + REPRESENTATIONS.index(outcome.representation)] += 1
            items.append(_item(found.tool_use_id, outcome))
            if outcome.text is None:
                continue
            edits.append((found.block, found.part, outcome.text))
            counts[BEFORE] += outcome.tokens_before
            counts[AFTER] += outcome.tokens_after
            counts[REWRITTEN] += 1
            if outcome.elided_ref and outcome.elided_text is not None:
                elisions.append((outcome.elided_ref, outcome.elided_text))
        return Done(tuple(edits), tuple(counts) if any(counts) else None, tuple(items))


def _outcome_size(outcome: Outcome) -> int:
    return len(outcome.text or "") + len(outcome.elided_text or "")


def _item(tool_use_id: str, outcome: Outcome) -> dict[str, Any]:
    """The report entry of one of the newest turn's tool results."""
    return {
        "tool_use_id": tool_use_id,
        "representation": outcome.representation,
        "tokens_before": outcome.tokens_before,
        "tokens_after": outcome.tokens_after,
        **({"elided_ref": outcome.elided_ref} if outcome.elided_ref else {}),
    }
