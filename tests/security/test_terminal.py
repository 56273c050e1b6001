"""Text a client or an upstream chose never reaches the terminal raw: escape sequences are shown, not run.

A model name, a User-Agent or an upstream's answer carrying ``ESC ] 52`` (set the clipboard) or
``ESC [ 2J`` (clear the screen) goes through ``lynkr serve``'s log, ``lynkr report``, the exit report
and ``lynkr doctor``; every byte they print is checked for raw control characters.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import anthropic

from lynkr_cli.printable import printable
from tests.conftest import FAKE_ANTHROPIC_KEY, base_env, run_lynkr
from tests.fakes.anthropic import Turn, reply_for
from tests.fakes.server import FakeUpstream, Received, Reply
from tests.security.conftest import TOKEN, Served, http_request, raw_request, status_of

EVIL_MODEL = "claude\x1b]52;c;cHduZWQ=\x07-haiku\x1b[2J\x9b31m\u202e"
EVIL_AGENT = "evil\x1b[31mclient\x07/1.0"
# What a terminal would act on: C0 controls other than newline and tab, DEL, C1, bidi overrides.
RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f\x80-\x9f\u202a-\u202e\u2066-\u2069]")


def test_printable_escapes_controls_and_keeps_text() -> None:
    assert printable("claude-opus-4-8 · 日本語 é") == "claude-opus-4-8 · 日本語 é"
    assert printable(EVIL_MODEL) == "claude\\x1b]52;c;cHduZWQ=\\x07-haiku\\x1b[2J\\x9b31m\\u202e"
    assert printable("a\nb\r\tc\x7f") == "a\\x0ab\\x0d\\x09c\\x7f"
    assert printable("line one\nline two\r", newlines=True) == "line one\nline two\\x0d"
    assert printable(42) == "42" and printable("\ud800") == "\\ud800"


def echo_model(request: Received) -> Reply:
    return reply_for(Turn(text="pong", model=EVIL_MODEL), request)


def test_serve_log_and_report_escape_what_clients_and_upstreams_sent(tmp_path: Path) -> None:
    home = tmp_path / "lh"
    env = base_env(home, ANTHROPIC_API_KEY=FAKE_ANTHROPIC_KEY)
    with FakeUpstream(echo_model) as upstream:
        with Served(["--port", "0", "--token", TOKEN, "--upstream", upstream.url], env) as served:
            body = json.dumps({"model": EVIL_MODEL, "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]})
            raw = raw_request(served.host, served.port, http_request(
                "POST", f"/s/{TOKEN}/v1/messages\x1b[1m".replace("\x1b", "%1B"),
                {"host": "127.0.0.1", "content-type": "application/json", "user-agent": EVIL_AGENT,
                 "anthropic-version": "2023-06-01"}, body.encode()))
            client = anthropic.Anthropic(base_url=f"{served.url}/s/{TOKEN}", api_key="k", max_retries=0,
                                         default_headers={"user-agent": "x"})
            assert client.messages.create(model="m", max_tokens=5, messages=[{"role": "user", "content": "x"}])
            raw2 = raw_request(served.host, served.port, http_request(
                "POST", f"/s/{TOKEN}/v1/messages", {"host": "127.0.0.1", "content-type": "application/json",
                                                   "user-agent": EVIL_AGENT}, body.encode()))
            code, log = served.stop()
    assert status_of(raw) == 404 and status_of(raw2) == 200  # a control character in the path: no API path
    assert code == 0, log
    assert "lynkr serve: /v1/messages claude\\x1b]52" in log  # shown, escaped
    report = run_lynkr(["report", "--last", "3"], env)
    overview = run_lynkr(["report", "--all"], env)
    assert report.returncode == 0 and overview.returncode == 0, report.stderr + overview.stderr
    assert "claude\\x" in report.stdout and "evil\\x1b[31mclient" in report.stdout + overview.stdout
    for name, text in (("serve log", log), ("report", report.stdout), ("overview", overview.stdout)):
        found = RAW_CONTROL.search(text)
        assert found is None, f"{name} printed {found.group()!r}: {text[max(0, found.start() - 60):found.end() + 20]!r}"
    as_json = run_lynkr(["report", "--last", "3", "--json"], env)  # scripts get the data, JSON-escaped
    assert EVIL_MODEL in [line["model"] for s in json.loads(as_json.stdout) for line in s["by_model"]]


def test_exit_report_escapes_the_upstreams_model_name(tmp_path: Path) -> None:
    script = ("import anthropic\n"
              "anthropic.Anthropic(max_retries=0).messages.create(model='m', max_tokens=5, "
              "messages=[{'role': 'user', 'content': 'x'}])\n")
    with FakeUpstream(echo_model) as upstream:
        env = base_env(tmp_path / "lh", ANTHROPIC_BASE_URL=upstream.url, ANTHROPIC_API_KEY=FAKE_ANTHROPIC_KEY)
        full = run_lynkr(["run", "--report", "full", "--", sys.executable, "-c", script], env)
    assert full.returncode == 0, full.stderr
    assert "claude\\x" in full.stderr  # the model column (narrow at 80 columns) shows the escape
    found = RAW_CONTROL.search(full.stderr)
    assert found is None, repr(full.stderr)


def test_doctor_escapes_what_it_quotes(tmp_path: Path) -> None:
    """An unreachable base URL taken from the environment is quoted by doctor: escaped."""
    env = base_env(tmp_path / "lh", TIER_SIMPLE="openrouter:m", OPENROUTER_API_KEY="k",
                   OPENROUTER_BASE_URL="http://127.0.0.1:9/\x1b]0;owned\x07v1")
    result = run_lynkr(["doctor"], env)
    assert "\\x1b]0;owned\\x07" in result.stdout, result.stdout + result.stderr
    assert RAW_CONTROL.search(result.stdout + result.stderr) is None
