"""Reports that fit the terminal: every line of the exit report, ``lynkr report`` (a session, its
requests, the overview), ``doctor`` and ``config show`` fits the pty's width without cutting or
breaking a word, wraps between figures, and uses the width of a wider terminal.

Each command runs as a user runs it, on a real pseudo-terminal of 80 and of 120 columns (no COLUMNS
variable: the width comes from the terminal)."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import sys
import termios
import time
from pathlib import Path

import pytest

from lynkr_cli.ledger import Ledger, RequestRecord, SessionRecord
from lynkr_cli.ledger.pricing import PriceBook
from tests.conftest import base_env

LONG_MODEL = "claude-sonnet-4-5-20250929"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def on_pty(args: list[str], env: dict[str, str], columns: int, cwd: Path | None = None) -> list[str]:
    """``lynkr ARGS`` on a pty ``columns`` wide: its output lines, colours removed."""
    pid, fd = pty.fork()
    if pid == 0:
        try:
            if cwd is not None:
                os.chdir(cwd)
            os.execve(sys.executable, [sys.executable, "-m", "lynkr_cli", *args], env)
        finally:
            os._exit(127)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    chunks = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 1.0)
        if not ready:
            continue
        try:
            data = os.read(fd, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    os.waitpid(pid, 0)
    os.close(fd)
    text = ANSI.sub("", b"".join(chunks).decode(errors="replace")).replace("\r\n", "\n")
    return [line.rsplit("\r", 1)[-1] for line in text.split("\n")]  # a spinner's \r: the last write shows


def seed(home: Path) -> None:
    """A session with a long model name, an unpriced model, routing, savings, a loop, and errors."""
    ledger = Ledger(home / "ledger.sqlite3")
    now = time.time() - 60
    ledger.start_session(SessionRecord(id="20261204-101010-abcdef", agent="claude", argv=["claude"], cwd="/w",
                                       started_at=now, pid=1, lynkr_version="t"))
    book = PriceBook()
    for i, (model, provider, status, error) in enumerate([
        (LONG_MODEL, "anthropic", 200, None),
        (LONG_MODEL, "anthropic", 200, None),
        ("my-own-finetune-v7", "openrouter", 200, None),
        (LONG_MODEL, "anthropic", 429, "rate_limit_error: Number of request tokens has exceeded your per-minute "
                                       "rate limit for this organization; please retry after 30 seconds"),
        (LONG_MODEL, "anthropic", 429, "rate_limit_error: Number of request tokens has exceeded your per-minute "
                                       "rate limit for this organization; please retry after 30 seconds"),
        ("claude-opus-5-5", "anthropic", 502, "ConnectError talking to https://api.anthropic.com/v1/messages: "
                                              "[Errno 111] Connection refused"),
    ]):
        priced = book.priced(model, provider, 12_345, 1_234, 250_000, 12_000) if status == 200 else None
        details: dict = {"route": {"tier": "COMPLEX", "routed": True, "score": 1.0, "reason": "t"}}
        if priced is not None:
            details["price"] = priced.price.as_dict()
        if i == 1:
            details["loop_guard"] = {"tool": "Bash", "repeats": 5, "action": "flagged"}
            details["pipeline"] = {"changed": True, "stages": [
                {"stage": "compress", "changed": True, "tokens_before": 9000, "tokens_after": 3000}]}
        ledger.record_request(RequestRecord(
            session_id="20261204-101010-abcdef", started_at=now + i, route="/v1/messages", model_requested=model,
            model_used=model, provider=provider, status=status, input_tokens=12_345 if status == 200 else None,
            output_tokens=1_234 if status == 200 else None, cache_read_tokens=250_000 if status == 200 else None,
            cache_write_tokens=12_000 if status == 200 else None, latency_ms=812.0,
            cost_usd=priced.cost if priced else None, details=details, error=error))
    ledger.finish_session("20261204-101010-abcdef", 1)
    ledger.flush()
    ledger.close()


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "lynkr-home"
    seed(home)
    env = base_env(home, tmp_path / "home", TERM="xterm")
    env.pop("COLUMNS", None)
    return env


def check_fits(lines: list[str], columns: int) -> str:
    too_long = [line for line in lines if len(line) > columns]
    assert not too_long, "\n".join(lines)
    return "\n".join(lines)


@pytest.mark.parametrize("columns", [80, 120])
def test_report_fits_and_keeps_every_name_whole(env, columns):
    text = check_fits(on_pty(["report", "--requests"], env, columns), columns)
    assert re.search(rf"(?m)^.*\b{LONG_MODEL}\b", text)  # never claude-o…
    assert f"{LONG_MODEL[:9]}…" not in text
    assert "(+1 unpriced)" in text  # never split over two lines
    assert "my-own-finetune-v7: unpriced" in text
    assert f"priced {LONG_MODEL}: genai-prices 0.2.3 (released 2026-11)" in text
    assert "loop guard: flagged 1× Bash called with identical input 5 times in a row" in " ".join(text.split())
    assert "errors (3):" in text and "2× 429 anthropic: rate_limit_error" in text
    assert "1× 502 anthropic: ConnectError" in text
    if columns == 120:  # the wider terminal is used: the model table fits on one line per model
        assert re.search(rf"(?m)^  {LONG_MODEL}\s+anthropic\s+4\s+2\s", text), text


@pytest.mark.parametrize("columns", [80, 120])
def test_overview_doctor_and_config_show_fit(env, columns, tmp_path):
    for args in (["report", "--all"], ["doctor"], ["config", "show"]):
        lines = on_pty(args, env, columns, cwd=tmp_path)
        text = check_fits(lines, columns)
        assert "Traceback" not in text, text
    wide = on_pty(["config", "show"], env, columns, cwd=tmp_path)
    assert any(line.startswith("statusline.mode") and "append" in line for line in wide)


def test_the_exit_report_fits_on_the_terminal_it_ran_in(tmp_path):
    home = tmp_path / "lynkr-home"
    env = base_env(home, tmp_path / "home", TERM="xterm")
    env.pop("COLUMNS", None)
    lines = on_pty(["run", "--", sys.executable, "-c", "print('agent output')"], env, 80)
    text = check_fits(lines, 80)
    assert "lynkr: session" in text and "no model requests" in text
