"""Stage ``linenums``: line-number padding dropped from numbered file listings.

Claude Code before 2.1.8x showed Read output as ``     1→import os`` (the number right-aligned in six
columns), and ``cat -n``/``nl -ba`` (what Codex runs to read a file with numbers) print
``     1\\timport os``. The padding is one or two o200k tokens on every line (``'    '``, ``' '``)
and carries nothing: on real sessions it was a third of the tokens of such outputs. Here the first
line of a numbered block keeps its padding, which shows the width, and the following lines lose it::

         1→import os          ->        1→import os
         2→import sys                   2→import sys
         3→                             3→

Every number is still on its line, so the model cites and reads exact line numbers as before, and the
text after the separator is untouched (indentation included, which Edit calls depend on). The original
is recovered by padding each line of the block to the first line's width (``expand``). Claude Code's
current ``1\\t`` format has no padding and is left alone.
"""

from __future__ import annotations

import re

from lynkr_cli.pipeline.results import Rewrite, TextStage, checked

_NUMBERED = re.compile(r"( *)(\d+)([\t\u2192])")
_PADDED_LINE = re.compile(r"(?m)^ +\d+[\t\u2192]")
MIN_BLOCK = 3  # lines; shorter numbered runs are not worth a change


def _parse(line: str) -> tuple[int, int, str] | None:
    """(number, printed width of the number field, separator) of a numbered line."""
    match = _NUMBERED.match(line)
    if match is None:
        return None
    spaces, digits, sep = match.groups()
    return int(digits), len(spaces) + len(digits), sep


def compact(text: str) -> str | None:
    """``text`` with the padding of numbered blocks removed after each block's first line (None: no block)."""
    if _PADDED_LINE.search(text) is None:
        return None
    lines = text.split("\n")
    changed = False
    i = 0
    while i < len(lines):
        first = _parse(lines[i])
        if first is None or lines[i][0] != " ":
            i += 1
            continue
        number, width, sep = first
        j = i + 1
        while j < len(lines):
            parsed = _parse(lines[j])
            if parsed is None or parsed[0] != number + (j - i) or parsed[2] != sep or parsed[1] != max(width, len(str(parsed[0]))):
                break
            j += 1
        if j - i >= MIN_BLOCK:
            for k in range(i + 1, j):
                lines[k] = lines[k].lstrip(" ")
            changed = True
        i = j
    return "\n".join(lines) if changed else None


def expand(text: str) -> str:
    """The inverse of ``compact``: lines following a padded numbered line, numbered on from it with
    the same separator and no padding, are padded to its width."""
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        first = _parse(lines[i])
        if first is None or not lines[i].startswith(" "):
            i += 1
            continue
        number, width, sep = first
        j = i + 1
        while j < len(lines) and not lines[j].startswith(" "):
            parsed = _parse(lines[j])
            if parsed is None or parsed[0] != number + (j - i) or parsed[2] != sep:
                break
            lines[j] = lines[j].rjust(len(lines[j]) - parsed[1] + width)
            j += 1
        i = j
    return "\n".join(lines)


def rewrite_text(text: str) -> Rewrite:
    """The ``linenums`` rewrite of one tool-result text (pure)."""
    if _PADDED_LINE.search(text) is None or expand(text) != text:
        return Rewrite()  # nothing padded, or a text the expansion would misread: left alone
    return checked(text, compact(text), expand)


class CompactLineNumbers(TextStage):
    """The ``linenums`` stage (see the module docstring)."""

    name = "linenums"

    def __init__(self) -> None:
        super().__init__(rewrite_text)
