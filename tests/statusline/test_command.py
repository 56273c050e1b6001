"""``lynkr statusline`` on its own: what it imports, the ``lynkr serve`` lookup, the segments a user
sees (loops, failovers, budgets, errors), and client-chosen names escaped before the terminal."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from lynkr_cli.ledger import Ledger, RequestRecord, SessionRecord
from lynkr_cli.statusline.board import StatusBoard
from lynkr_cli.statusline.render import render
from lynkr_cli.statusline.state import read_state, state_path
from tests.conftest import base_env, run_lynkr

CLAUDE_JSON = json.dumps({"session_id": "claude-abc-1", "model": {"id": "claude-opus-5-5"}})


def record(session: str, **extra: object) -> RequestRecord:
    values: dict = dict(session_id=session, started_at=time.time(), route="/v1/messages",
                        model_requested="claude-opus-5-5", model_used="claude-opus-5-5", status=200,
                        input_tokens=1000, output_tokens=100, cost_usd=0.25)
    values.update(extra)
    return RequestRecord(**values)


def written(board: StatusBoard, home: Path) -> dict[str, Any] | None:
    """Session ``s``'s state as the status line reads it, once the board wrote it."""
    board.flush()
    return read_state(state_path(str(home), "s"))


def test_the_status_line_imports_no_cli_framework_no_pydantic_and_no_sqlite(tmp_path):
    code = ("import sys, runpy\n"
            "sys.argv = ['lynkr_cli.statusline', '--session', 'x', '--plain']\n"
            "try:\n    runpy.run_module('lynkr_cli.statusline', run_name='__main__')\n"
            "except SystemExit:\n    pass\n"
            "print(' '.join(sorted(sys.modules)), file=sys.stderr)\n")
    done = subprocess.run([sys.executable, "-c", code], input="", capture_output=True, text=True,
                          env=base_env(tmp_path / "lh"), timeout=60)
    loaded = set(done.stderr.split())
    assert done.stdout == "lynkr · starting\n"
    for heavy in ("typer", "click", "rich", "pydantic", "pydantic_settings", "httpx", "sqlite3", "typing"):
        assert heavy not in loaded, heavy


def test_a_serve_session_is_found_from_claude_codes_session_id(tmp_path):
    home = tmp_path / "lh"
    ledger = Ledger(home / "ledger.sqlite3")
    for sid, client in (("serve-old-s1", "claude-abc-1"), ("serve-other-s2", "claude-zzz-9"),
                        ("serve-new-s3", "claude-abc-1")):
        ledger.start_session(SessionRecord(id=sid, agent="claude", argv=["serve", "client=127.0.0.1",
                             f"client-session={client}"], cwd="/w", started_at=time.time(), pid=1, lynkr_version="t"))
        time.sleep(0.01)
    ledger.flush()
    ledger.close()
    board = StatusBoard(str(home))
    board.observe(record("serve-new-s3", cost_usd=1.5))
    board.observe(record("serve-other-s2", cost_usd=9.0))
    board.flush()
    shown = run_lynkr(["statusline", "--plain"], base_env(home), input=CLAUDE_JSON)
    assert shown.returncode == 0 and shown.stdout == "lynkr · $1.50\n", shown.stderr
    unknown = run_lynkr(["statusline", "--plain"], base_env(home), input=json.dumps({"session_id": "nope"}))
    assert unknown.stdout == "lynkr · starting\n"


def test_loops_failovers_budgets_errors_and_unpriced_requests_are_shown(tmp_path):
    board = StatusBoard(str(tmp_path))
    board.observe(record("s", model_used="my-new-model", cost_usd=None))
    board.observe(record("s", status=429, error="rate limited", cost_usd=None, provider="openrouter"))
    board.observe(record("s", details={"route": {"tier": "COMPLEX", "routed": True, "failover": {"from": "a:x"}},
                                       "loop_guard": {"tool": "Bash", "repeats": 5, "action": "flagged"},
                                       "cache": {"hit": True}}))
    state = written(board, tmp_path)
    text = render(state, colour=False)
    assert text == ("lynkr · $0.25 (+1 unpriced) · cache 1 hit · COMPLEX → claude-opus-5-5 · failed over from a:x"
                    " · loop? Bash ×5 identical · 1 error")
    budget = record("s", details={"route": {"tier": "SIMPLE", "routed": True, "rule": "budget",
                                            "reason": "session budget of $1.00 reached"}}, status=429, error="x")
    board.observe(budget)
    state = written(board, tmp_path)
    assert "budget: session budget of $1.00 reached" in render(state, colour=False)
    assert "2 errors (last: 429 anthropic)" in render(state, colour=False)


def test_a_model_name_with_control_characters_is_escaped(tmp_path):
    board = StatusBoard(str(tmp_path))
    board.observe(record("s", model_used="evil\x1b]52;c;aGk=\x07", details={"route": {"tier": "SIMPLE", "routed": True}}))
    state = written(board, tmp_path)
    text = render(state, colour=True)
    assert "\x1b]" not in text and "\x07" not in text and "evil\\x1b]52" in text


def test_usage_errors_are_one_line(tmp_path):
    bad = run_lynkr(["statusline", "--sesion", "x"], base_env(tmp_path / "lh"), input="")
    assert bad.returncode == 2 and bad.stderr == "lynkr statusline: unrecognized arguments: --sesion x\n"
