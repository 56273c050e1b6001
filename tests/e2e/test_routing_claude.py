"""Tier routing with the real Claude Code binary: two fake Anthropic-format upstreams as two tiers.

The cheap tier is the agent's own Anthropic upstream (``anthropic:``); the strong tier is a second
upstream speaking the same format (``azure-anthropic:``, pointed at a local fake). Each fake answers
with its own name, so the agent's output shows which model really answered.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import FAKE_ANTHROPIC_KEY, agent_binary, base_env, ledger_rows, run_lynkr
from tests.fakes.anthropic import Turn, has_tool_result, messages_handler, reply_for
from tests.fakes.server import FakeUpstream, Received, Reply

pytestmark = pytest.mark.e2e

CHEAP_MODEL, STRONG_MODEL = "claude-haiku-4-5", "claude-opus-4-5"
EASY = "What does git stash do?"
HARD = ("Analyse the security trade-offs of storing JWT tokens in localStorage vs httpOnly cookies for a "
        "banking application. Step by step.")


@pytest.fixture(autouse=True)
def _claude_installed() -> None:
    agent_binary("claude")


def main_calls(upstream: FakeUpstream) -> list[dict]:
    """Claude Code's main requests (they carry its tools) as parsed bodies."""
    return [r.json for r in upstream.received if r.method == "POST" and "/v1/messages" in r.path
            and "count_tokens" not in r.path and (r.json or {}).get("tools")]


def answering(name: str, tool_first: bool = False):  # type: ignore[no-untyped-def]
    def respond(request: Received, body: dict) -> Reply:
        if tool_first and body.get("tools") and not has_tool_result(body):
            return reply_for(Turn(tool_calls=[("Bash", {"command": "echo routed", "description": "echo"})]), request)
        return reply_for(Turn(text=f"answer from {name} ({body.get('model')})", input_tokens=200, output_tokens=30),
                         request)

    return messages_handler(respond)


def routing_env(lynkr_home: Path, user_home: Path, cheap: str, strong: str, **extra: str) -> dict[str, str]:
    return base_env(
        lynkr_home, user_home,
        ANTHROPIC_BASE_URL=cheap, ANTHROPIC_API_KEY=FAKE_ANTHROPIC_KEY,
        AZURE_ANTHROPIC_ENDPOINT=strong, AZURE_ANTHROPIC_API_KEY="fake-azure-key",
        TIER_SIMPLE=f"anthropic:{CHEAP_MODEL}", TIER_REASONING=f"azure-anthropic:{STRONG_MODEL}",
        LYNKR_ROUTING__BACKOFF_S="0.01", **extra,
    )


def run_claude(prompt: str, env: dict[str, str], *args: str, cwd: Path | None = None):  # type: ignore[no-untyped-def]
    return run_lynkr(["run", "claude", "-p", prompt, "--output-format", "json", *args], env, cwd=cwd)


def test_a_simple_question_goes_to_the_cheap_tier_and_a_hard_one_to_the_strong_tier(lynkr_home, user_home):
    with FakeUpstream(answering("cheap")) as cheap, FakeUpstream(answering("strong")) as strong:
        env = routing_env(lynkr_home, user_home, cheap.url, strong.url)
        easy = run_claude(EASY, env)
        assert easy.returncode == 0, easy.stderr
        assert json.loads(easy.stdout)["result"] == f"answer from cheap ({CHEAP_MODEL})"
        assert main_calls(cheap) and not main_calls(strong)
        hard = run_claude(HARD, env)
        assert hard.returncode == 0, hard.stderr
        assert json.loads(hard.stdout)["result"] == f"answer from strong ({STRONG_MODEL})"
        assert [b["model"] for b in main_calls(strong)] == [STRONG_MODEL]
    _, requests = ledger_rows(lynkr_home)
    main = sorted((r for r in requests if r["route"] == "/v1/messages" and r["request_bytes"] > 20_000),
                  key=lambda r: r["started_at"])
    routes = [r["details"]["route"] for r in main]
    assert [(r["tier"], r["model"]) for r in routes] == [("SIMPLE", CHEAP_MODEL), ("REASONING", STRONG_MODEL)]
    assert all(isinstance(r["score"], (int, float)) and r["reason"] for r in routes)
    assert "tiers: REASONING 1 req" in hard.stderr


def test_the_tool_loop_stays_on_the_model_chosen_for_the_turn(lynkr_home, user_home, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    with FakeUpstream(answering("cheap", tool_first=True)) as cheap, \
            FakeUpstream(answering("strong", tool_first=True)) as strong:
        result = run_claude(HARD + " Use bash to check first.", routing_env(lynkr_home, user_home, cheap.url, strong.url),
                            "--allowedTools", "Bash", cwd=work)
        assert result.returncode == 0, result.stderr
        calls = main_calls(strong)
        assert len(calls) >= 2 and has_tool_result(calls[-1])  # the tool result went back to the same model
        assert {b["model"] for b in calls} == {STRONG_MODEL} and not main_calls(cheap)
    assert json.loads(result.stdout)["result"] == f"answer from strong ({STRONG_MODEL})"
    _, requests = ledger_rows(lynkr_home)
    loop = [r["details"]["route"] for r in requests if r["route"] == "/v1/messages" and r["request_bytes"] > 20_000]
    assert loop[-1].get("sticky") is True and "tool loop" in loop[-1]["reason"]


def test_a_failing_cheap_upstream_falls_back_to_the_strong_one_and_the_session_completes(lynkr_home, user_home):
    def overloaded(request: Received, body: dict) -> Reply:
        return Reply(529, {"content-type": "application/json"},
                     b'{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}')

    with FakeUpstream(messages_handler(overloaded)) as cheap, FakeUpstream(answering("strong")) as strong:
        result = run_claude(EASY, routing_env(lynkr_home, user_home, cheap.url, strong.url, LYNKR_ROUTING__RETRIES="1"))
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["result"] == f"answer from strong ({STRONG_MODEL})"
        assert len(main_calls(cheap)) == 2  # the first try and one retry, then the fallback
    _, requests = ledger_rows(lynkr_home)
    main = [r for r in requests if r["route"] == "/v1/messages" and r["request_bytes"] > 20_000]
    assert main[0]["status"] == 200 and main[0]["model_used"] == STRONG_MODEL
    route = main[0]["details"]["route"]
    assert route["failover"] == {"from": f"anthropic:{CHEAP_MODEL}", "to": f"azure-anthropic:{STRONG_MODEL}"}
    assert "failed over" in result.stderr  # the session report
    assert f"failed over to azure-anthropic:{STRONG_MODEL}" in (lynkr_home / "lynkr.log").read_text()


def test_a_spent_session_budget_stops_claude_with_a_clear_message(lynkr_home, user_home, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    (work / "lynkr.toml").write_text('[budget]\nsession_usd = 0.001\n\n[routing]\nbudget_action = "stop"\n')
    with FakeUpstream(answering("cheap", tool_first=True)) as cheap, \
            FakeUpstream(answering("strong", tool_first=True)) as strong:
        result = run_claude(HARD + " Use bash to check first.", routing_env(lynkr_home, user_home, cheap.url, strong.url),
                            "--allowedTools", "Bash", cwd=work)
        assert len(main_calls(strong)) == 1  # the first request spent the budget; the next never left lynkr
    output = json.loads(result.stdout)
    assert output["is_error"] is True and "session budget of $0.00 reached" in output["result"]
    _, requests = ledger_rows(lynkr_home)
    refused = [r for r in requests if r["route"] == "/v1/messages" and r["status"] == 400]
    assert refused and "session budget" in refused[0]["error"]
