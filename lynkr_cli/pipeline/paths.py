"""Stage ``paths``: search output grouped by file, the way ripgrep prints it on a terminal.

``rg -n``/``grep -rn`` repeat the file path on every matching line; on real sessions a long path is
often more tokens than the match itself. Runs of two or more lines of the same file are printed as
ripgrep's own ``--heading`` layout, which models have read countless times: the path once on its own
line, then ``LINE:text`` for matches and ``LINE-text`` for context lines::

    src/app/signer.py:12:def sign(        ->   src/app/signer.py
    src/app/signer.py:40:def verify(            12:def sign(
                                                40:def verify(

Lines of files that match once, and every other line, stay as they were. The original is recovered by
putting the heading and the separator back in front of each numbered line under it (``expand``); a
text that ``expand`` would already change (a path-like line above ``N:`` lines of its own) is left
alone, so the expansion is never ambiguous.
"""

from __future__ import annotations

import re

from lynkr_cli.pipeline.results import Rewrite, TextStage, checked

# path:LINE:text (a match) or path-LINE-text (a context line). The path has no colon and no leading blank.
_MATCH = re.compile(r"([^\s:][^:\n]*?):(\d+):")
# A line that starts with a path (a "/" or "." after its first character, before its first colon)
# followed by ":<line>:". Written without a lazy run so a line is scanned once, not once per "/" or ".".
_HINT = re.compile(r"(?m)^[^\s:][^:\n/.]*[/.][^:\n]*:\d+:")
_NUMBERED = re.compile(r"(\d+)([:-])")
MIN_GROUP = 2


def looks_like_path(text: str) -> bool:
    """A heading candidate: a path with a directory or an extension, no colon, no blank at either end."""
    return (bool(text) and ":" not in text and "\t" not in text and not text[0].isspace()
            and not text[-1].isspace() and ("/" in text or "." in text) and not text.replace(".", "").isdigit())


def _split(line: str, known: set[str]) -> tuple[str, str] | None:
    """(path, the rest from the separator on) of a search-output line, or None."""
    match = _MATCH.match(line)
    if match is not None and looks_like_path(match.group(1)):
        return match.group(1), line[len(match.group(1)):]
    for path in known:  # context lines: the path is one that has matches (paths may hold -digits-)
        if line.startswith(path) and re.match(r"-\d+-", line[len(path):]):
            return path, line[len(path):]
    return None


def group(text: str) -> str | None:
    """``text`` with runs of same-file search lines under one heading (None: no such run)."""
    if _HINT.search(text) is None:
        return None
    lines = text.split("\n")
    known = {m.group(1) for m in map(_MATCH.match, lines) if m is not None and looks_like_path(m.group(1))}
    split = [_split(line, known) for line in lines]
    out: list[str] = []
    changed = False
    i = 0
    while i < len(lines):
        first = split[i]
        j = i + 1
        while first is not None and j < len(lines) and _same_file(split[j], first[0]):
            j += 1
        if first is None or not _groupable(first[0], j - i, lines[j] if j < len(lines) else None):
            out.extend(lines[i:j])
            i = j
            continue
        out.append(first[0])
        out.extend(part[1][1:] for part in split[i:j] if part is not None)
        changed = True
        i = j
    return "\n".join(out) if changed else None


def _same_file(part: tuple[str, str] | None, path: str) -> bool:
    return part is not None and part[0] == path


def _groupable(path: str, count: int, following: str | None) -> bool:
    """Group a run only if the expansion will read it back the same way: the heading must not look
    like a numbered line itself, and the line after the run must not look like one of its lines."""
    return count >= MIN_GROUP and _NUMBERED.match(path) is None and (following is None or _NUMBERED.match(following) is None)


def expand(text: str) -> str:
    """The inverse of ``group``: a path-like line followed by ``N:``/``N-`` lines is put back in front
    of each of them (with the separator each one carries)."""
    lines = text.split("\n")
    out: list[str] = []
    heading: str | None = None
    for i, line in enumerate(lines):
        numbered = _NUMBERED.match(line)
        if heading is not None and numbered is not None:
            out.append(heading + numbered.group(2) + line)
            continue
        heading = None
        if numbered is None and i + 1 < len(lines) and _NUMBERED.match(lines[i + 1]) and looks_like_path(line):
            heading = line
            continue
        out.append(line)
    return "\n".join(out)


def rewrite_text(text: str) -> Rewrite:
    """The ``paths`` rewrite of one tool-result text (pure)."""
    if _HINT.search(text) is None or expand(text) != text:
        return Rewrite()
    return checked(text, group(text), expand)


class GroupSearchPaths(TextStage):
    """The ``paths`` stage (see the module docstring)."""

    name = "paths"

    def __init__(self) -> None:
        super().__init__(rewrite_text)
