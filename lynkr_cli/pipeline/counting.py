"""Token counts of tool-result texts, each text counted once however many times it is asked about.

The same text is counted several times on its way through: by each stage that rewrites it (its
tokens before and after), by the next stage (the previous one's output is its input), and by
``lynkr replay``'s billing (the text as the agent sent it, and as lynkr sends it). Tokenizing is the
most expensive step of both, so texts of some length are counted once and remembered: by the
string itself (its hash is computed once per string object and kept in it), within a character
budget, oldest out first. A count is a pure function of the text: remembering it changes no figure.
"""

from __future__ import annotations

import threading

from lynkr_cli import tokens

MIN_CHARS = 256  # shorter texts are counted faster than they are remembered
BUDGET_CHARS = 4 << 20  # texts kept with their counts (their strings are usually held anyway, by the
# conversations the stages keep, while they are being asked about)

_counts: dict[str, int] = {}
_chars = 0
_lock = threading.Lock()


def count_text(text: str) -> int:
    """``tokens.count_text(text)``, remembered for texts of ``MIN_CHARS`` or more."""
    global _chars
    if len(text) < MIN_CHARS:
        return tokens.count_text(text)
    found = _counts.get(text)
    if found is not None:
        return found
    count = tokens.count_text(text)
    if len(text) > BUDGET_CHARS:
        return count
    with _lock:
        if text not in _counts:
            _counts[text] = count
            _chars += len(text)
            while _chars > BUDGET_CHARS:
                oldest = next(iter(_counts))
                _chars -= len(oldest)
                del _counts[oldest]
    return count


def remembered() -> tuple[int, int]:
    """(texts, characters) remembered now (tests/pipeline/test_state_bounds.py)."""
    return len(_counts), _chars
