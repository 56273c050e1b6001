"""Lossless clean-up of command output: ANSI escapes, trailing blanks, exact consecutive repeats.

These are the only things removed from text by default. Colour codes and cursor movements carry no
meaning for a model; trailing spaces and tabs are invisible; a run of identical lines is kept as the
line once plus the count of further copies, so the text says exactly what was there.
"""

from __future__ import annotations

import operator
import re

# CSI sequences (colours, cursor moves), OSC sequences (titles, hyperlinks), and two-byte escapes.
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
_TRAILING = re.compile(r"[ \t]+(?=\r?$)", re.MULTILINE)  # a line's run of trailing spaces and tabs
_BLANK_ENDS = (" \n", "\t\n", " \r\n", "\t\r\n")
REPEAT_MARK = "[previous line repeated {n} more times]"


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text) if "\x1b" in text else text


def strip_trailing_blanks(text: str) -> str:
    """Spaces and tabs at line ends go; line endings (``\\r\\n`` included) stay as they were.

    The tab after a bare line number (an empty line in ``cat -n`` or Claude Code's Read output) is
    kept: without it the number would read as the line's content.
    """
    if not text.endswith((" ", "\t", " \r", "\t\r")) and not any(end in text for end in _BLANK_ENDS):
        return text  # the common case, decided by a few scans in C
    return _TRAILING.sub(_strip_blanks, text)


def _strip_blanks(match: re.Match[str]) -> str:
    if match.group(0)[0] == "\t":
        text, start = match.string, match.start()
        if text[text.rfind("\n", 0, start) + 1:start].strip().isdigit():
            return "\t"
    return ""


def collapse_repeats(text: str, min_run: int = 3) -> str:
    """Runs of ``min_run`` or more identical non-blank lines become the line plus a count."""
    lines = text.split("\n")
    if b"\x01" * (min_run - 1) not in bytes(map(operator.eq, lines[:-1], lines[1:])):
        return text  # no run of min_run equal lines at all (a scan in C)
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        j = i + 1
        while j < len(lines) and lines[j] == line:
            j += 1
        run = j - i
        if run >= min_run and line.strip():
            out.append(line)
            out.append(REPEAT_MARK.format(n=run - 1))
        else:
            out.extend(lines[i:j])
        i = j
    return "\n".join(out)


def clean_text(text: str, min_run: int = 3) -> str:
    """All three clean-ups; idempotent (``clean_text(clean_text(x)) == clean_text(x)``)."""
    return collapse_repeats(strip_trailing_blanks(strip_ansi(text)), min_run)
