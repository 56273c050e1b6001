"""Stage ``terminal``: command output as a terminal would show it.

Progress bars and spinners redraw one line many times: ``curl``'s meter and ``apt`` with a
carriage return (``\\r``), npm and ``create-next-app`` prompts with erase-line and cursor sequences
(``ESC[2K ESC[1G``), pip and cargo with both. A model reading the captured bytes reads every frame;
a person at the terminal saw only the last one. This stage replays the output on a line-based screen
(carriage return, backspace, erase in line, cursor up/down/left/right and column) and keeps what is
on screen at the end, without colours and other invisible sequences.

What the model sees is exactly what the terminal displayed, so nothing the user or the agent could
have seen is lost; the overwritten frames are not kept (that is the saving). A ``\\r\\n`` line ending
is a line ending, not a redraw, and stays as it was. Output that positions the cursor on the whole
screen (``ESC[H``, ``ESC[2J``: full-screen programs) is left as it was, and so are the results of
file-reading tools (a file's bytes are not terminal output). Characters are one column each here (a
wide CJK character overwritten by half is rendered as a whole one).
"""

from __future__ import annotations

import re

from lynkr_cli.pipeline.results import Rewrite, TextStage, ToolOf

FILE_TOOLS = frozenset({"Read", "read", "read_file", "view", "View", "NotebookRead"})
# What makes a text worth rendering: a carriage return that is not a line ending, a backspace, or a
# cursor-movement / erase-in-line sequence.
_REDRAW = re.compile(r"\r(?!\n)|\x08|\x1b\[[0-9;]*[A-DGK]")
_TOKEN = re.compile(
    r"\x1b\[([0-?]*)[ -/]*([@-~])"  # CSI: parameters, final byte
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC (titles, hyperlinks)
    r"|\x1b[@-Z\\-_]?"  # two-byte escapes (and a lone ESC)
    r"|\r\n|[\r\n\x08\x07]"
)


class _Unsupported(Exception):
    """Whole-screen cursor addressing: not a stream of lines, left as it was."""


class _Screen:
    def __init__(self) -> None:
        self.lines: list[list[str]] = [[]]
        self.ends: list[str] = [""]
        self.touched: list[bool] = [False]
        self.row = 0
        self.col = 0

    def _ensure(self, row: int) -> None:
        while len(self.lines) <= row:
            self.lines.append([])
            self.ends.append("")
            self.touched.append(False)

    def write(self, text: str) -> None:
        line = self.lines[self.row]
        if self.col > len(line):
            line.extend(" " * (self.col - len(line)))
            self.touched[self.row] = True
        end = self.col + len(text)
        line[self.col:min(end, len(line))] = list(text)
        self.col = end

    def newline(self, ending: str) -> None:
        if self.ends[self.row] == "":
            self.ends[self.row] = ending
        self.row += 1
        self.col = 0
        self._ensure(self.row)

    def csi(self, params: str, final: str) -> None:
        if final == "m" or params.startswith("?"):
            return  # colours and modes: invisible
        values = [int(p) if p.isdigit() else 0 for p in params.split(";")] if params else []
        n = values[0] if values else 0
        line = self.lines[self.row]
        if final == "K":
            self.touched[self.row] = True
            if n == 0:
                del line[self.col:]
            elif n == 1:
                line[:min(self.col + 1, len(line))] = [" "] * min(self.col + 1, len(line))
            else:
                line.clear()
        elif final == "G":
            self.col = max(n, 1) - 1
            self.touched[self.row] = True
        elif final == "C":
            self.col += max(n, 1)
        elif final == "D":
            self.col = max(0, self.col - max(n, 1))
            self.touched[self.row] = True
        elif final == "A":
            self.row = max(0, self.row - max(n, 1))
            self.touched[self.row] = True
        elif final == "B":
            self.row += max(n, 1)
            self._ensure(self.row)
        elif final in "HfJ":
            raise _Unsupported(final)

    def text(self) -> str:
        out = []
        for cells, end, touched in zip(self.lines, self.ends, self.touched):
            line = "".join(cells)
            out.append((line.rstrip(" ") if touched else line) + (end or "\n"))
        joined = "".join(out)
        return joined[:-1] if not self.ends[-1] else joined


def render(text: str) -> str | None:
    """What a terminal shows after printing ``text`` (None: whole-screen output, not rendered)."""
    screen = _Screen()
    position = 0
    try:
        for match in _TOKEN.finditer(text):
            if match.start() > position:
                screen.write(text[position:match.start()])
            position = match.end()
            token = match.group(0)
            if token in ("\n", "\r\n"):
                screen.newline(token)
            elif token == "\r":
                screen.col = 0
                screen.touched[screen.row] = True
            elif token == "\x08":
                screen.col = max(0, screen.col - 1)
                screen.touched[screen.row] = True
            elif match.group(2) is not None:
                screen.csi(match.group(1), match.group(2))
        if position < len(text):
            screen.write(text[position:])
    except _Unsupported:
        return None
    return screen.text()


def _is_rendered(candidate: str) -> bool:
    """The stage's own check: the rendered text renders to itself (nothing left to redraw)."""
    return render(candidate) == candidate


def rewrite_text(text: str) -> Rewrite:
    """The ``terminal`` rewrite of one tool-result text (pure)."""
    if _REDRAW.search(text) is None:
        return Rewrite()
    candidate = render(text)
    if candidate is None:
        return Rewrite()
    if not _is_rendered(candidate):
        return Rewrite(lossless_failure=True)  # a renderer bug: the text is kept as it was
    return _saving(text, candidate)


def _saving(text: str, candidate: str) -> Rewrite:
    from lynkr_cli.pipeline.counting import count_text

    before, after = count_text(text), count_text(candidate)
    return Rewrite(candidate, before, after) if after < before else Rewrite()


class RenderTerminal(TextStage):
    """The ``terminal`` stage (see the module docstring)."""

    name = "terminal"

    def __init__(self) -> None:
        super().__init__(rewrite_text)

    def skips(self, text: str, tool_use_id: str, tool_of: ToolOf) -> bool:
        if "\r" not in text and "\x1b" not in text and "\x08" not in text:
            return True  # the common case, decided by three scans in C
        return tool_of(tool_use_id) in FILE_TOOLS  # a file's own bytes are not terminal output
