"""Stage ``terminal``: the text the model gets is what a terminal showed.

The reference is pyte, a VT100/xterm emulator: every rendering here must equal its screen (wide
enough that nothing wraps), line by line, with trailing blanks ignored as a screen shows none.
"""

from __future__ import annotations

import pyte
import pytest

from lynkr_cli.canonical import ModelRequest
from lynkr_cli.pipeline import SessionState
from lynkr_cli.pipeline.terminal import RenderTerminal, render, rewrite_text

CURL = ("  % Total    % Received % Xferd  Average Speed   Time    Time     Time  Current\n"
        "                                 Dload  Upload   Total   Spent    Left  Speed\n"
        "\r  0     0    0     0    0     0      0      0 --:--:-- --:--:-- --:--:--     0"
        "\r 45 1024k   45  463k    0     0   912k      0  0:00:01 --:--:--  0:00:01  911k"
        "\r100 1024k  100 1024k    0     0  1204k      0 --:--:-- --:--:-- --:--:-- 1204k\n")
APT = "".join(f"\rReading package lists... {p}%" for p in range(0, 101, 5)) + "\rReading package lists... Done\n"
NPM_PROMPT = ("\x1b[?25l\x1b[2K\x1b[1G\x1b[36m?\x1b[39m \x1b[1mWould you like to use \x1b[34mReact Compiler\x1b[39m?"
              "\x1b[22m \x1b[90m»\x1b[39m No \x1b[90m/\x1b[39m \x1b[36m\x1b[4mYes\x1b[39m\x1b[24m\x07\x1b[2K\x1b[1G"
              "\x1b[2K\x1b[1G\x1b[32m√\x1b[39m \x1b[1mWould you like to use \x1b[34mReact Compiler\x1b[39m?\x1b[22m "
              "\x1b[90m...\x1b[39m No\n\x1b[?25h")
TQDM = "".join(f"\r{p:3d}%|{'#' * (p // 10):<10}| {p}/100 [00:0{p // 50}<00:00]" for p in range(0, 101, 10)) + "\n"
MULTILINE = "layer 1: waiting\nlayer 2: waiting\n\x1b[2A\x1b[2Klayer 1: done\n\x1b[2Klayer 2: done\n"
BACKSPACE = "Spinning |\x08/\x08-\x08\\\x08done\n"
SAMPLES = [CURL, APT, NPM_PROMPT, TQDM, MULTILINE, BACKSPACE]


def terminal_screen(text: str) -> list[str]:
    screen = pyte.Screen(240, 40)
    stream = pyte.Stream(screen)
    stream.feed(text.replace("\n", "\r\n"))  # a terminal's line discipline turns \n into \r\n
    lines = [line.rstrip() for line in screen.display]
    while lines and not lines[-1]:
        lines.pop()
    return lines


@pytest.mark.parametrize("text", SAMPLES, ids=["curl", "apt", "npm-prompt", "tqdm", "cursor-up", "backspace"])
def test_the_rendering_is_what_a_terminal_shows(text: str) -> None:
    rendered = render(text)
    assert rendered is not None
    assert [line.rstrip() for line in rendered.rstrip("\n").split("\n")] == terminal_screen(text)
    assert render(rendered) == rendered  # nothing left to redraw: idempotent


def test_progress_frames_are_dropped_and_counted() -> None:
    outcome = rewrite_text(APT)
    assert outcome.text == "Reading package lists... Done\n"
    assert outcome.tokens_after < outcome.tokens_before / 10


def test_line_endings_and_plain_text_are_kept() -> None:
    crlf = "C:\\> dir\r\n Volume in drive C\r\n\r\n"
    assert rewrite_text(crlf).text is None  # \r\n is a line ending, not a redraw
    assert render("a\r\nb\rc\r\n") == "a\r\nc\r\n"
    assert rewrite_text("plain output\nwith  trailing  \n").text is None


def test_full_screen_output_is_left_as_it_was() -> None:
    assert render("\x1b[H\x1b[2Jtop - 10:00\n") is None
    assert rewrite_text("\x1b[H\x1b[2Jtop - 10:00\rtop - 10:01\n").text is None


def _request(tool: str, text: str) -> ModelRequest:
    return ModelRequest({"model": "m", "max_tokens": 5, "messages": [
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": tool, "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": text}]},
    ]})


def test_the_stage_renders_command_output_but_not_file_contents() -> None:
    stage = RenderTerminal()
    out, report = stage.apply(_request("Bash", APT), SessionState("s"))
    assert out.messages[1]["content"][0]["content"] == "Reading package lists... Done\n"
    assert report.changed and report.saved > 0 and report.metrics["history_tokens_saved"] == 0
    file_request = _request("Read", "1\told mac line\rending\n")
    same, report = stage.apply(file_request, SessionState("s"))
    assert same is file_request and not report.changed
