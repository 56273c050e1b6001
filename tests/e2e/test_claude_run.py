"""`lynkr run claude` end to end: the real, pinned Claude Code binary against a fake Anthropic upstream.

Each test checks something a user relies on: the agent's answer arrives unchanged, credentials pass
through, the ledger and the exit report carry exactly the figures the upstream returned.
"""

from __future__ import annotations

import json
import signal
import subprocess
import threading
from pathlib import Path

import pytest

from tests.conftest import (
    FAKE_ANTHROPIC_KEY,
    agent_binary,
    base_env,
    ledger_rows,
    lynkr_command,
    run_lynkr,
)
from tests.fakes.anthropic import (
    Turn,
    error_reply,
    has_tool_result,
    messages_handler,
    reply_for,
    tool_results,
)
from tests.fakes.server import FakeUpstream, Received, Reply

pytestmark = pytest.mark.e2e


@pytest.fixture(autouse=True)
def _claude_installed() -> None:
    agent_binary("claude")


def is_main_turn(body: dict) -> bool:
    """Claude Code's main requests carry its tools; side requests (titles, checks) carry none."""
    return bool(body.get("tools"))


def text_responder(text: str, **usage: int):
    def respond(request: Received, body: dict) -> Reply:
        return reply_for(Turn(text=text, **usage), request)

    return messages_handler(respond)


def claude_env(lynkr_home: Path, user_home: Path, upstream: FakeUpstream, **extra: str) -> dict[str, str]:
    return base_env(lynkr_home, user_home, ANTHROPIC_BASE_URL=upstream.url, ANTHROPIC_API_KEY=FAKE_ANTHROPIC_KEY,
                    **extra)


def test_text_turn_output_ledger_and_report_match_the_upstream(lynkr_home, user_home, tmp_path):
    handler = text_responder("Hello from the fake upstream", input_tokens=1234, output_tokens=56,
                             cache_read_tokens=7000, cache_write_tokens=800)
    report_file = tmp_path / "report.json"
    with FakeUpstream(handler) as upstream:
        result = run_lynkr(
            ["run", "--report-json", str(report_file), "claude", "-p", "say hello", "--output-format", "json"],
            claude_env(lynkr_home, user_home, upstream),
        )
    assert result.returncode == 0, result.stderr
    # stdout is exactly Claude Code's JSON: a pipe into jq works.
    output = json.loads(result.stdout)
    assert output["result"] == "Hello from the fake upstream"
    assert output["is_error"] is False
    # The user's API key reached the upstream untouched, through the token-prefixed proxy path.
    calls = upstream.requests_to("/v1/messages")
    assert calls and all(c.headers["x-api-key"] == FAKE_ANTHROPIC_KEY for c in calls)
    assert all(c.headers.get("anthropic-version") == "2023-06-01" for c in calls)

    sessions, requests = ledger_rows(lynkr_home)
    assert len(sessions) == 1
    session = sessions[0]
    assert session["agent"] == "claude" and session["exit_code"] == 0 and session["status"] == "finished"
    assert session["argv"] == ["claude", "-p", "say hello", "--output-format", "json"]
    model_rows = [r for r in requests if r["route"] == "/v1/messages"]
    assert len(model_rows) == len(calls)
    for row in model_rows:
        assert row["status"] == 200 and row["streamed"] is True and row["error"] is None
        assert (row["input_tokens"], row["output_tokens"]) == (1234, 56)
        assert (row["cache_read_tokens"], row["cache_write_tokens"]) == (7000, 800)
        assert row["model_used"] == row["model_requested"]
        assert row["ttfb_ms"] is not None and row["latency_ms"] >= row["ttfb_ms"]
        assert row["request_bytes"] > 0 and row["response_bytes"] > 0

    report = json.loads(report_file.read_text())
    n = len(model_rows)
    assert report["totals"]["requests"] == n
    assert report["totals"]["input_tokens"] == 1234 * n
    assert report["totals"]["cache_read_tokens"] == 7000 * n
    assert report["totals"]["cost_usd"] == pytest.approx(sum(r["cost_usd"] for r in model_rows))
    # The short report on stderr states the same measured figures.
    assert f"{n} request" in result.stderr and "cache read" in result.stderr
    assert report["session_id"] in result.stderr


def test_tool_round_trip_runs_the_real_tool(lynkr_home, user_home, tmp_path):
    workdir = tmp_path / "project"
    workdir.mkdir()
    (workdir / "marker-file.txt").write_text("x")
    seen_results: list[str] = []

    def respond(request: Received, body: dict) -> Reply:
        if not is_main_turn(body):
            return reply_for(Turn(text="Side answer"), request)
        if has_tool_result(body):
            for block in tool_results(body):
                content = block["content"]
                seen_results.append(content if isinstance(content, str) else json.dumps(content))
            return reply_for(Turn(text="I listed the files."), request)
        return reply_for(Turn(tool_calls=[("Bash", {"command": "ls", "description": "List files"})]), request)

    with FakeUpstream(messages_handler(respond)) as upstream:
        result = run_lynkr(
            ["run", "claude", "-p", "list the files", "--output-format", "json", "--allowedTools", "Bash"],
            claude_env(lynkr_home, user_home, upstream),
            cwd=workdir,
        )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["result"] == "I listed the files."
    assert any("marker-file.txt" in r for r in seen_results), seen_results
    _, requests = ledger_rows(lynkr_home)
    stops = [r for r in requests if r["route"] == "/v1/messages" and r["status"] == 200]
    assert len(stops) >= 2


def test_truncated_stream_then_non_streaming_retry(lynkr_home, user_home):
    """Claude Code retries a broken stream once without streaming; both attempts cross the proxy."""
    attempts: list[bool] = []

    def respond(request: Received, body: dict) -> Reply:
        if not is_main_turn(body):
            return reply_for(Turn(text="side"), request)
        attempts.append(bool(body.get("stream")))
        if body.get("stream"):
            return reply_for(Turn(text="this stream will be cut off before it ends"), request, cut_after=4)
        return reply_for(Turn(text="Recovered without streaming", input_tokens=321, output_tokens=9), request)

    with FakeUpstream(messages_handler(respond)) as upstream:
        result = run_lynkr(["run", "claude", "-p", "hello", "--output-format", "json"],
                           claude_env(lynkr_home, user_home, upstream))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["result"] == "Recovered without streaming"
    assert attempts[0] is True and False in attempts
    _, requests = ledger_rows(lynkr_home)
    main = [r for r in requests if r["route"] == "/v1/messages" and r["request_bytes"] > 20_000]
    cut = [r for r in main if r["streamed"]]
    retried = [r for r in main if not r["streamed"]]
    assert cut and cut[0]["error"] and "stream" in cut[0]["error"]
    assert retried and retried[0]["status"] == 200 and retried[0]["input_tokens"] == 321


@pytest.mark.parametrize(
    ("status", "error_type", "message"),
    [(429, "rate_limit_error", "Number of requests has exceeded your rate limit"),
     (500, "api_error", "Internal server error from the fake")],
)
def test_upstream_errors_are_relayed(lynkr_home, user_home, status, error_type, message):
    def respond(request: Received, body: dict) -> Reply:
        return error_reply(status, error_type, message, {"retry-after": "30"} if status == 429 else None)

    with FakeUpstream(messages_handler(respond)) as upstream:
        result = run_lynkr(["run", "claude", "-p", "hello", "--output-format", "json"],
                           claude_env(lynkr_home, user_home, upstream))
    output = json.loads(result.stdout)
    assert output["is_error"] is True
    assert str(status) in json.dumps(output) or message in json.dumps(output)
    sessions, requests = ledger_rows(lynkr_home)
    assert sessions[0]["exit_code"] == result.returncode
    failed = [r for r in requests if r["route"] == "/v1/messages"]
    assert failed and all(r["status"] == status for r in failed)
    assert any(message in (r["error"] or "") for r in failed)
    assert "error" in result.stderr  # the exit report counts them


def test_claude_settings_env_cannot_bypass_the_proxy(lynkr_home, user_home):
    # Claude Code lets ~/.claude/settings.json env override the process environment.
    (user_home / ".claude" / "settings.json").write_text(
        json.dumps({"env": {"ANTHROPIC_BASE_URL": "http://127.0.0.1:9/elsewhere"}})
    )
    with FakeUpstream(text_responder("through lynkr")) as upstream:
        result = run_lynkr(["run", "claude", "-p", "hi", "--output-format", "json"],
                           claude_env(lynkr_home, user_home, upstream))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["result"] == "through lynkr"
    _, requests = ledger_rows(lynkr_home)
    assert any(r["route"] == "/v1/messages" and r["status"] == 200 for r in requests)


@pytest.mark.parametrize("form", ["inline", "file"])
def test_user_settings_are_merged_not_replaced(lynkr_home, user_home, tmp_path, form):
    user_settings = {"env": {"ANTHROPIC_CUSTOM_HEADERS": "x-user-header: from-user-settings"}}
    if form == "file":
        path = tmp_path / "my-settings.json"
        path.write_text(json.dumps(user_settings))
        settings_arg = str(path)
    else:
        settings_arg = json.dumps(user_settings)
    with FakeUpstream(text_responder("merged")) as upstream:
        result = run_lynkr(["run", "claude", "--settings", settings_arg, "-p", "hi", "--output-format", "json"],
                           claude_env(lynkr_home, user_home, upstream))
        calls = upstream.requests_to("/v1/messages")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["result"] == "merged"
    # The user's setting took effect AND the request went through lynkr (recorded in its ledger).
    assert calls and all(c.headers.get("x-user-header") == "from-user-settings" for c in calls)
    _, requests = ledger_rows(lynkr_home)
    assert len([r for r in requests if r["route"] == "/v1/messages"]) == len(calls)


def test_dead_http_proxy_does_not_break_the_loopback_hop(lynkr_home, user_home):
    with FakeUpstream(text_responder("no proxy involved")) as upstream:
        env = claude_env(lynkr_home, user_home, upstream, HTTP_PROXY="http://127.0.0.1:9",
                         HTTPS_PROXY="http://127.0.0.1:9", http_proxy="http://127.0.0.1:9",
                         https_proxy="http://127.0.0.1:9")
        result = run_lynkr(["run", "claude", "-p", "hi", "--output-format", "json"], env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["result"] == "no proxy involved"


def _stalling_upstream(started: threading.Event, release: threading.Event):
    def respond(request: Received, body: dict) -> Reply:
        if is_main_turn(body):
            started.set()
            release.wait(60)
        return reply_for(Turn(text="late"), request)

    return messages_handler(respond)


@pytest.mark.parametrize(
    ("signum", "expected"), [(signal.SIGTERM, 143), (signal.SIGINT, 0), (signal.SIGHUP, 129)]
)
def test_signals_reach_claude_and_its_exit_code_is_returned(lynkr_home, user_home, signum, expected):
    """Measured without lynkr (claude-code 2.1.197): `claude -p` exits 143 on SIGTERM, 0 on SIGINT
    and 129 on SIGHUP."""
    started, release = threading.Event(), threading.Event()
    with FakeUpstream(_stalling_upstream(started, release)) as upstream:
        process = subprocess.Popen(
            lynkr_command("run", "claude", "-p", "wait for me"),
            env=claude_env(lynkr_home, user_home, upstream),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        try:
            assert started.wait(60), "claude never reached the upstream"
            process.send_signal(signum)
            _, stderr = process.communicate(timeout=60)
        finally:
            release.set()
            if process.poll() is None:
                process.kill()
    assert process.returncode == expected, stderr
    sessions, requests = ledger_rows(lynkr_home)
    assert sessions[0]["exit_code"] == expected and sessions[0]["status"] == "finished"
    # The request cut short by the signal is still in the ledger.
    assert any(r["route"] == "/v1/messages" and r["request_bytes"] > 20_000 for r in requests)
