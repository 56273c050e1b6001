"""The real ``claude`` binary through lynkr's full pipeline: a tool round trip with a compressed result."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import toon_format

from bench.scenarios.data import grep_result
from tests.conftest import FAKE_ANTHROPIC_KEY, agent_binary, base_env, ledger_rows, run_lynkr
from tests.fakes.anthropic import Turn, has_tool_result, messages_handler, reply_for, tool_results
from tests.fakes.server import FakeUpstream, Received, Reply

pytestmark = pytest.mark.e2e


def run_tool_loop(lynkr_home: Path, user_home: Path, tmp_path: Path, *flags: str) -> tuple[object, list[str]]:
    agent_binary("claude")
    project = tmp_path / "project"
    project.mkdir()
    (project / "todos.json").write_text(json.dumps(grep_result(), indent=2) + "\n")
    seen: list[str] = []

    def respond(request: Received, body: dict) -> Reply:
        if not body.get("tools"):
            return reply_for(Turn(text="side"), request)
        if has_tool_result(body):
            for block in tool_results(body):
                content = block["content"]
                seen.append(content if isinstance(content, str) else content[0]["text"])
            return reply_for(Turn(text="There are 60 TODOs.", input_tokens=500, cache_read_tokens=20000), request)
        return reply_for(Turn(tool_calls=[("Bash", {"command": "cat todos.json", "description": "Show TODOs"})],
                              input_tokens=400, cache_write_tokens=20000), request)

    with FakeUpstream(messages_handler(respond)) as upstream:
        env = base_env(lynkr_home, user_home, ANTHROPIC_BASE_URL=upstream.url, ANTHROPIC_API_KEY=FAKE_ANTHROPIC_KEY)
        result = run_lynkr(["run", *flags, "claude", "-p", "How many TODOs are there?", "--output-format", "json",
                            "--allowedTools", "Bash"], env, cwd=project)
    return result, seen


def test_claude_tool_round_trip_gets_a_lossless_toon_result(lynkr_home, user_home, tmp_path):
    result, seen = run_tool_loop(lynkr_home, user_home, tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["result"] == "There are 60 TODOs."
    (received,) = seen
    assert received.startswith("[60]{file,line,match,context}:")  # TOON, not the pretty JSON claude sent
    assert toon_format.decode(received) == grep_result()
    _, requests = ledger_rows(lynkr_home)
    stages = [s for r in requests for s in r["details"].get("pipeline", {}).get("stages", []) if s["changed"]]
    assert stages and stages[-1]["items"][0]["representation"] == "toon"
    # The exit report (stderr) says what was saved and how the tool result was sent.
    assert "optimized 1 request(s)" in result.stderr and "tool results: 1 toon" in result.stderr
    assert "without lynkr $" in result.stderr


def test_no_optimize_sends_what_claude_sent(lynkr_home, user_home, tmp_path):
    result, seen = run_tool_loop(lynkr_home, user_home, tmp_path, "--no-optimize")
    assert result.returncode == 0, result.stderr
    (received,) = seen
    assert json.loads(received) == grep_result() and received.startswith("[\n  {")


def test_tool_search_flag_makes_claude_defer_its_tools_and_the_report_says_so(lynkr_home, user_home, tmp_path):
    agent_binary("claude")
    tool_lists: list[list[str]] = []

    def respond(request: Received, body: dict) -> Reply:
        if body.get("tools"):
            tool_lists.append([t["name"] for t in body["tools"]])
        return reply_for(Turn(text="ok"), request)

    with FakeUpstream(messages_handler(respond)) as upstream:
        env = base_env(lynkr_home, user_home, ANTHROPIC_BASE_URL=upstream.url, ANTHROPIC_API_KEY=FAKE_ANTHROPIC_KEY)
        plain = run_lynkr(["run", "--stage", "prune=on", "claude", "-p", "hi"], env, cwd=tmp_path)
        searched = run_lynkr(["run", "--tool-search", "--stage", "prune=on", "claude", "-p", "hi"], env, cwd=tmp_path)
    assert plain.returncode == 0 and searched.returncode == 0, searched.stderr
    plain_tools, searched_tools = tool_lists[0], tool_lists[-1]
    assert "ToolSearch" not in plain_tools and "ToolSearch" in searched_tools
    assert len(searched_tools) < len(plain_tools)
    _, requests = ledger_rows(lynkr_home)
    decisions = [s["decision"] for r in requests for s in r["details"].get("pipeline", {}).get("stages", [])
                 if s["stage"] == "prune"]
    assert any(d.startswith("dropped") for d in decisions)  # lynkr's own pruning in the plain run
    assert any(d.startswith("client tool search") for d in decisions)
