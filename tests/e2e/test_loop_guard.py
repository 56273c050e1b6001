"""The loop guard against a scripted model that asks for the same tool call again and again.

The REAL pinned ``claude`` runs through ``lynkr run``; the fake Anthropic upstream answers every
request with the same ``Bash`` call (identical input). By default lynkr flags the request that ends
5 identical calls in a row (the status line and ``lynkr report`` say so) and forwards it; with
``routing.loop_guard = "stop"`` that request is refused with an Anthropic error Claude Code shows,
and the upstream never sees it. The OpenAI Chat Completions format gets its own error shape."""

from __future__ import annotations

import json

import pytest

from tests.conftest import FAKE_ANTHROPIC_KEY, agent_binary, base_env, ledger_rows, run_lynkr
from tests.fakes.anthropic import Turn, messages_handler, reply_for
from tests.fakes.server import FakeUpstream, Received, Reply

pytestmark = pytest.mark.e2e
SAME_CALL = ("Bash", {"command": "cat missing-file.txt", "description": "Show the file"})


class StuckModel:
    """Asks for ``SAME_CALL`` ``repeat`` times, then gives up with a text answer."""

    def __init__(self, repeat: int) -> None:
        self.repeat = repeat
        self.calls = 0

    def __call__(self, request: Received, body: dict) -> Reply:
        if not body.get("tools"):  # Claude Code's side requests (titles …)
            return reply_for(Turn(text="Side answer"), request)
        self.calls += 1
        if self.calls <= self.repeat:
            return reply_for(Turn(tool_calls=[SAME_CALL]), request)
        return reply_for(Turn(text="I give up on that file."), request)


def run_stuck(lynkr_home, user_home, tmp_path, repeat: int, **extra: str):  # type: ignore[no-untyped-def]
    agent_binary("claude")
    model = StuckModel(repeat)
    with FakeUpstream(messages_handler(model)) as upstream:
        env = base_env(lynkr_home, user_home, ANTHROPIC_BASE_URL=upstream.url, ANTHROPIC_API_KEY=FAKE_ANTHROPIC_KEY,
                       **extra)
        # No permission flag (root may not skip them): a denied call still goes back as a tool result.
        result = run_lynkr(["run", "claude", "-p", "show me missing-file.txt"],
                           env, cwd=tmp_path, timeout=180)
    return result, model, env


def test_identical_tool_calls_are_flagged_and_reported(lynkr_home, user_home, tmp_path):
    result, model, env = run_stuck(lynkr_home, user_home, tmp_path, repeat=6)
    assert result.returncode == 0, result.stderr
    assert "I give up on that file." in result.stdout
    assert model.calls == 7  # warn only: every request went through
    _, rows = ledger_rows(lynkr_home)
    flags = [r["details"].get("loop_guard") for r in rows if r["details"].get("loop_guard")]
    # Requests 6 and 7 carry 5 and 6 identical calls in a row.
    assert flags == [{"tool": "Bash", "repeats": 5, "action": "flagged"},
                     {"tool": "Bash", "repeats": 6, "action": "flagged"}]
    assert "loop guard: flagged 2× Bash called with identical input 6 times in a row" in " ".join(result.stderr.split())
    report = run_lynkr(["report", "--json"], env)
    assert json.loads(report.stdout)[0]["loops"] == [{"tool": "Bash", "action": "flagged", "repeats": 6, "count": 2}]
    status = run_lynkr(["statusline", "--plain"], env, input="")  # no session named: lynkr's bare line
    assert status.returncode == 0 and status.stdout.startswith("lynkr")


def test_stop_refuses_the_request_that_would_continue_the_loop(lynkr_home, user_home, tmp_path):
    result, model, _ = run_stuck(lynkr_home, user_home, tmp_path, repeat=100, LYNKR_ROUTING__LOOP_GUARD="stop")
    assert model.calls == 5  # the 6th request (after 5 identical calls) never reached the model
    shown = result.stdout + result.stderr
    assert "loop guard: the agent called Bash with identical input 5 times in a row" in shown, shown
    _, rows = ledger_rows(lynkr_home)
    stopped = [r for r in rows if (r["details"].get("loop_guard") or {}).get("action") == "stopped"]
    assert len(stopped) == 1 and stopped[0]["status"] == 400
    assert "stopped 1× Bash" in " ".join(result.stderr.split())


def test_stop_answers_an_openai_client_in_its_own_format(tmp_path):
    import openai

    from tests.conftest import running_proxy
    from lynkr_cli.proxy.loop_guard import LoopGuard

    with FakeUpstream(lambda r: Reply(status=500)) as upstream, \
            running_proxy(upstream.url, tmp_path / "ledger.sqlite3", loop_guard=LoopGuard("stop", 3)) as (url, _, _):
        client = openai.OpenAI(base_url=f"{url}/v1", api_key="x", max_retries=0)
        call = {"id": "c1", "type": "function", "function": {"name": "read", "arguments": '{"path": "a.txt"}'}}
        messages: list = [{"role": "user", "content": "read a.txt"}]
        for i in range(3):
            messages += [{"role": "assistant", "content": None, "tool_calls": [dict(call, id=f"c{i}")]},
                         {"role": "tool", "tool_call_id": f"c{i}", "content": "no such file"}]
        with pytest.raises(openai.BadRequestError) as raised:
            client.chat.completions.create(model="gpt-5", messages=messages)
    assert raised.value.body["type"] == "invalid_request_error"
    assert "called read with identical input 3 times in a row" in raised.value.body["message"]
