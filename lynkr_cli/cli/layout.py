"""Lines that fit the terminal: wrapped between figures, never inside a word.

Every report lynkr prints (the exit report, ``lynkr report``, ``doctor``, ``config show``) is laid out
here. A line is a list of parts ("in 12.3k", "cost $0.42 (+1 unpriced)"); parts are joined with
`` · `` and a line breaks only between parts, continuing under a hanging indent. A part too long for
a line breaks at its spaces, and a word too long for a line (a path) after its ``/``: nothing is ever
cut mid-word. The width is the terminal's (80 when it is not a terminal), so a wider window gets
longer lines. No rich import: the exit report is printed after every session.
"""

from __future__ import annotations

import os
from typing import Iterable, TextIO

SEP = " · "
DEFAULT_WIDTH = 80
MIN_WIDTH = 40


def width_of(stream: TextIO | None) -> int:
    """The terminal's width for ``stream``; ``COLUMNS`` when set; else 80."""
    if os.environ.get("COLUMNS", "").isdigit():
        return max(MIN_WIDTH, int(os.environ["COLUMNS"]))
    try:
        if stream is not None and stream.isatty():
            return max(MIN_WIDTH, os.get_terminal_size(stream.fileno()).columns)
    except (OSError, ValueError, AttributeError):
        pass
    return DEFAULT_WIDTH


def words(text: str, room: int) -> list[str]:
    """``text``'s words; one longer than ``room`` is split after a ``/`` (else a ``,`` or ``-``)."""
    out: list[str] = []
    for word in text.split(" "):
        while len(word) > room:
            cut = word.rfind("/", 0, room)
            if cut <= 0:
                cut = max(word.rfind(",", 0, room), word.rfind("-", 0, room))
            if cut <= 0:
                break  # a single unbreakable word: it gets a line of its own
            out.append(word[:cut + 1])
            word = word[cut + 1:]
        out.append(word)
    return out


def fill(text: str, width: int, first: str = "", indent: str = "    ") -> list[str]:
    """``text`` wrapped at spaces: the first line starts with ``first``, the others with ``indent``."""
    lines: list[str] = []
    line, fresh = first, True
    pending = words(text, width - len(indent))
    while pending:
        word = pending.pop(0)
        gap = "" if fresh else " "
        if len(line) + len(gap) + len(word) <= width:
            line, fresh = line + gap + word, False
            continue
        head = words(word, width - len(line) - len(gap))  # a path may start here and go on below
        if len(head) > 1 and len(line) + len(gap) + len(head[0]) <= width:
            line, fresh = line + gap + head[0], False
            pending[:0] = ["".join(head[1:])]
            continue
        if fresh and not line.strip():  # nothing before it: an unbreakable word has the line to itself
            line, fresh = line + word, False
            continue
        lines.append(line.rstrip())
        line, fresh = indent, True
        pending.insert(0, word)
    lines.append(line.rstrip())
    return lines


def join(parts: Iterable[str], width: int, first: str = "  ", indent: str = "    ", sep: str = SEP) -> list[str]:
    """``parts`` joined with ``sep`` on lines of at most ``width``, broken only between parts (a part
    longer than a line is itself wrapped at its spaces)."""
    lines: list[str] = []
    line, started = first, False
    for part in (p for p in parts if p):
        piece = sep + part if started else part
        if len(line) + len(piece) <= width:
            line, started = line + piece, True
            continue
        if started:
            lines.append(line.rstrip())
            line = indent
        if len(line) + len(part) <= width:
            line, started = line + part, True
            continue
        wrapped = fill(part, width, first=line, indent=indent)
        lines.extend(wrapped[:-1])
        line, started = wrapped[-1], True
    if line.strip():
        lines.append(line.rstrip())
    return lines


def table(rows: list[list[str]], width: int, right: set[int] | None = None, indent: str = "  ",
          gap: str = "  ") -> list[str] | None:
    """A plain table (first row the header), or None when it would not fit ``width``."""
    if not rows:
        return []
    right = right or set()
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    if len(indent) + sum(widths) + len(gap) * (len(widths) - 1) > width:
        return None
    out = []
    for row in rows:
        cells = [cell.rjust(w) if i in right else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths))]
        out.append((indent + gap.join(cells)).rstrip())
    return out
