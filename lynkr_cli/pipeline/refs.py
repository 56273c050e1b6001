"""References to earlier content: how they read, what they name, and how they expand.

A reference replaces a run of lines of a tool result that the model has already seen, line for line,
earlier in the conversation (in an earlier tool result, or in what it wrote with Write or Edit)::

    [lines 12-40: same as lines 5-33 of the previous output of Read /src/app.py]

It names the earlier content by what the model did to get it (the tool and its main argument) and
the lines by number, so a model reads it without knowing lynkr. "The previous output of X" is the
most recent earlier result of a call described as X ("the second-to-last", "the third-to-last":
the ones before it), counted back from where the reference stands; ``expand_text`` follows the same
rule, so every reference resolves to exactly one place. Only lines shown as they are in that place
are referenced (never lines that are themselves a reference there), so one look back finds them.

Line numbers are the ones the model sees: for a numbered file listing (Read, ``cat -n``, ``nl``) the
printed numbers, otherwise the line's position in the output (1-based). In a numbered listing the
referenced lines get their numbers back from the listing's own format, which its first line keeps
on show (that line is never replaced).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

MARK = "[lines {a}-{b}: same as lines {c}-{d} of {desc}]"
_MARK = re.compile(r"\[lines (\d+)-(\d+): same as lines (\d+)-(\d+) of (the .+)\]")
# Which of the earlier contents of the same name a reference means, counted back from it.
WHICH = ("previous", "second-to-last", "third-to-last")
OUTPUT, WRITTEN, NEW_TEXT = "output of", "content written with", "new text of"
_DESC = re.compile(rf"the ({'|'.join(WHICH)}) ({OUTPUT}|{WRITTEN}|{NEW_TEXT}) (.+)")
_NUMBERED = re.compile(r"( *)(\d+)([\t\u2192])")
_NUMBERED_LINE = re.compile(r"(?m)^ *\d+[\t\u2192]")
MIN_NUMBERED_BLOCK = 3
DESC_MAX = 120
HEADER_LINES = 8
_HEADER_FIRST = ("Chunk ID: ", "Exit code: ")


@dataclass(frozen=True)
class View:
    """The referenceable lines of a text: ``lines[start:end]``, numbered from ``first``.

    ``numbered`` texts are listings whose lines carry their number (``contents`` is what follows the
    number and separator); in plain texts a line's number is its position and its content the line.
    """

    lines: list[str]
    start: int
    end: int
    first: int
    numbered: bool
    contents: list[str]  # contents of lines[start:end]

    def content(self, number: int) -> str | None:
        index = number - self.first
        return self.contents[index] if 0 <= index < len(self.contents) else None


def _parse_numbered(line: str) -> tuple[int, str, str] | None:
    """(number, prefix, content) of a numbered listing line."""
    match = _NUMBERED.match(line)
    if match is None:
        return None
    return int(match.group(2)), line[:match.end()], line[match.end():]


def body_start(lines: list[str]) -> int:
    """Where the command's own output starts in a Codex shell result (after ``Output:``), else 0.

    Codex puts a header (``Chunk ID``/``Exit code``, wall time, ...) above what the command printed;
    counting lines from the output itself makes line N of ``sed -n 1,90p``'s output the file's line N.
    """
    if not lines or not lines[0].startswith(_HEADER_FIRST):
        return 0
    for i in range(1, min(HEADER_LINES, len(lines))):
        if lines[i] == "Output:":
            return i + 1
    return 0


def view(text: str) -> View:
    """The text's view: its first numbered block of at least three lines, else all its lines (after a
    Codex header)."""
    lines = text.split("\n")
    first_numbered = _NUMBERED_LINE.search(text)  # where to start looking (one scan in C)
    i = len(lines) if first_numbered is None else text.count("\n", 0, first_numbered.start())
    while i < len(lines):
        first = _parse_numbered(lines[i])
        if first is None:
            i += 1
            continue
        sep = first[1][-1]
        contents = [first[2]]
        j = i + 1
        while j < len(lines):
            parsed = _parse_numbered(lines[j])
            if parsed is None or parsed[0] != first[0] + (j - i) or parsed[1][-1] != sep:
                break
            contents.append(parsed[2])
            j += 1
        if j - i >= MIN_NUMBERED_BLOCK:
            return View(lines, i, j, first[0], True, contents)
        i = j
    start = body_start(lines)
    end = len(lines) - 1 if len(lines) > 1 and lines[-1] == "" else len(lines)  # not the "line" after a final newline
    return View(lines, start, end, 1, False, lines[start:end])


def numbered_prefix(previous: str, number: int) -> str | None:
    """The prefix of line ``number`` in the listing whose line ``number - 1`` is ``previous``: the same
    separator, right-aligned to the same width when ``previous`` is padded."""
    parsed = _parse_numbered(previous)
    if parsed is None or parsed[0] != number - 1:
        return None
    prefix = parsed[1]
    digits = str(number)
    if prefix.startswith(" "):
        return digits.rjust(len(prefix) - 1) + prefix[-1]
    return digits + prefix[-1]


def mark(a: int, b: int, c: int, d: int, desc: str) -> str:
    return MARK.format(a=a, b=b, c=c, d=d, desc=desc)


def parse_mark(line: str) -> tuple[int, int, int, int, str] | None:
    match = _MARK.fullmatch(line)
    if match is None:
        return None
    a, b, c, d = (int(match.group(k)) for k in range(1, 5))
    return a, b, c, d, match.group(5)


def has_mark(text: str) -> bool:
    """Does the text contain a line that reads as a reference? (Such a text is never rewritten.)"""
    return "[lines " in text and any(_MARK.fullmatch(line) for line in text.split("\n") if line.startswith("[lines "))


def expand_text(text: str, resolve: Callable[[str], View | None]) -> str | None:
    """``text`` with each reference replaced by the lines it names (None: a reference that does not
    resolve, or whose numbers do not fit where it stands)."""
    if "[lines " not in text:
        return text
    lines = text.split("\n")
    start = body_start(lines)
    out: list[str] = []
    for line in lines:
        parsed = parse_mark(line) if line.startswith("[lines ") else None
        if parsed is None:
            out.append(line)
            continue
        a, b, c, d, desc = parsed
        source = resolve(desc)
        if source is None or b - a != d - c or b < a:
            return None
        contents = [source.content(n) for n in range(c, d + 1)]
        if any(content is None for content in contents):
            return None
        numbered = bool(out) and numbered_prefix(out[-1], a) is not None
        if not numbered and len(out) - start != a - 1:
            return None
        for number, content in zip(range(a, b + 1), contents):
            prefix = numbered_prefix(out[-1], number) if numbered else ""
            if prefix is None:
                return None
            out.append(f"{prefix}{content}")
    return "\n".join(out)


# --- how calls and their inputs are named ------------------------------------------------------

READ_TOOLS = frozenset({"Read", "read", "read_file", "view", "View"})
WRITE_TOOLS = frozenset({"Write", "write", "write_file", "create_file"})
EDIT_TOOLS = frozenset({"Edit", "edit", "str_replace_based_edit_tool"})


def _one_line(text: str) -> str:
    line = " ".join(text.split())
    if not line.isprintable():  # rare: one test in C for the whole line first
        line = "".join(ch for ch in line if ch.isprintable())
    return line if len(line) <= DESC_MAX else line[:DESC_MAX - 1] + "\u2026"


def _path(arguments: Mapping[str, Any]) -> str | None:
    for key in ("file_path", "path", "filePath"):
        value = arguments.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def call_label(name: str, arguments: Any) -> str:
    """How the model would name a call: the tool and its main argument."""
    args: Mapping[str, Any] = arguments if isinstance(arguments, Mapping) else {}
    path = _path(args)
    if name in READ_TOOLS and path:
        extra = "".join(f" {k}={args[k]}" for k in ("offset", "limit") if isinstance(args.get(k), (int, str)))
        return _one_line(f"{name} {path}{extra}")
    command = args.get("command", args.get("cmd"))
    if isinstance(command, list):
        command = command[-1] if len(command) == 3 and command[1] in ("-c", "-lc") else " ".join(map(str, command))
    if isinstance(command, str):
        return _one_line(f"{name} `{command}`")
    if path:
        return _one_line(f"{name} {path}")
    import json

    try:
        shown = json.dumps(arguments, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError):
        shown = ""
    return _one_line(f"{name} {shown}")


Key = tuple[str, str]  # (noun, call label): what several earlier contents may share


def describe(key: Key, rank: int) -> str:
    """How a reference names the ``rank``-th most recent content called ``key`` (1: the latest)."""
    return f"the {WHICH[rank - 1]} {key[0]} {key[1]}"


def parse_desc(desc: str) -> tuple[Key, int] | None:
    """(key, rank) of a reference's description (the inverse of ``describe``)."""
    match = _DESC.fullmatch(desc)
    if match is None:
        return None
    return (match.group(2), match.group(3)), WHICH.index(match.group(1)) + 1


def output_key(name: str, arguments: Any) -> Key:
    return OUTPUT, call_label(name, arguments)


def written_sources(name: str, arguments: Any) -> list[tuple[Key, str]]:
    """(key, text) of what a Write or Edit call put in a file, which the model wrote itself."""
    if not isinstance(arguments, Mapping):
        return []
    path = _path(arguments)
    if not path:
        return []
    if name in WRITE_TOOLS and isinstance(arguments.get("content"), str):
        return [((WRITTEN, _one_line(f"{name} {path}")), arguments["content"])]
    if name in EDIT_TOOLS:
        for key in ("new_string", "new_str", "newText"):
            if isinstance(arguments.get(key), str):
                return [((NEW_TEXT, _one_line(f"{name} {path}")), arguments[key])]
    return []
