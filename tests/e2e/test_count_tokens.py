"""``count_tokens`` follows the route: asked of Anthropic only when the conversation goes there.

Claude Code asks ``POST /v1/messages/count_tokens`` for ``/context`` (and its compaction checks).
Routed to a provider without that API (Ollama, OpenRouter …), lynkr answers with its o200k estimate
in Anthropic's format and marks the ledger row as an estimate; the Anthropic upstream, which the user
may hold no key for, is never asked. Routed to Anthropic, the question goes there untouched.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.conftest import FAKE_ANTHROPIC_KEY, agent_binary, base_env, ledger_rows, lynkr_command, run_lynkr
from tests.e2e.screen import ENTER, AgentScreen
from tests.e2e.test_new_user import finish_claude_onboarding
from tests.fakes.anthropic import Turn
from tests.fakes.ollama import ollama_handler
from tests.fakes.openai import openai_handler
from tests.fakes.server import FakeUpstream, Received, Reply

pytestmark = pytest.mark.e2e

# A client counting tokens with the official SDK, pointed at lynkr by ``lynkr run --``.
COUNT = ("import anthropic, json\n"
         "client = anthropic.Anthropic(api_key='{key}', max_retries=0)\n"
         "count = client.messages.count_tokens(model='claude-sonnet-4-5', system='You are terse.',\n"
         "    messages=[{{'role': 'user', 'content': 'How many tokens is this question, roughly?'}}])\n"
         "print(json.dumps({{'input_tokens': count.input_tokens}}))\n")


def anthropic_upstream(request: Received) -> Reply:
    if request.path.split("?")[0].endswith("/v1/messages/count_tokens"):
        return Reply(headers={"content-type": "application/json"}, body=b'{"input_tokens": 4242}')
    return Reply(status=500, body=b"{}")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    workdir = tmp_path / "project"
    workdir.mkdir()
    return workdir


def count_rows(lynkr_home: Path) -> list[dict]:
    _, requests = ledger_rows(lynkr_home)
    return sorted((r for r in requests if r["route"] == "/v1/messages/count_tokens"), key=lambda r: r["started_at"])


def test_claude_context_on_ollama_is_counted_by_lynkr(lynkr_home, new_user_home, project):
    """``MODEL_PROVIDER=ollama``: the real Claude Code's ``/context`` is answered, and nothing is asked
    of Anthropic (it used to be sent there and fail) or of Ollama (it has no such endpoint)."""
    agent_binary("claude")
    with FakeUpstream(ollama_handler(lambda r, b: Turn(text="from ollama"))) as ollama, \
            FakeUpstream(anthropic_upstream) as anthropic:
        env = base_env(lynkr_home, new_user_home, TERM="xterm-256color", MODEL_PROVIDER="ollama",
                       OLLAMA_HOST=f"127.0.0.1:{ollama.port}", OLLAMA_MODEL="qwen2.5-coder:7b",
                       ANTHROPIC_BASE_URL=anthropic.url)
        screen = AgentScreen(lynkr_command("run", "claude"), env, project)
        try:
            finish_claude_onboarding(screen)
            screen.type(*"/context", ENTER)
            screen.expect(r"(?i)context usage|tokens", timeout=60)
            screen.wait_idle()  # /context has finished asking
            code = screen.exit_with_ctrl_c()
        finally:
            screen.kill()
        asked = [r.path for r in anthropic.received + ollama.received if "count_tokens" in r.path]
    assert code == 0, screen.text
    assert asked == []
    rows = count_rows(lynkr_home)
    assert rows, "Claude Code's /context asked nothing"
    assert {(r["status"], r["provider"], r["error"]) for r in rows} == {(200, "lynkr", None)}
    assert {r["details"]["count_tokens"]["estimate"] for r in rows} == {"o200k"}
    assert {r["details"]["count_tokens"]["for"] for r in rows} == {"ollama:qwen2.5-coder:7b"}


def test_tiers_on_other_providers_count_locally_and_anthropic_counts_its_own(lynkr_home, tmp_path, project):
    """With tiers on OpenRouter the SDK gets lynkr's estimate in Anthropic's format; without tiers the
    same call goes to Anthropic and its own count comes back."""
    with FakeUpstream(openai_handler(lambda r, b: Turn(text="tiered"))) as openrouter, \
            FakeUpstream(anthropic_upstream) as anthropic:
        env = base_env(lynkr_home, ANTHROPIC_BASE_URL=anthropic.url, OPENROUTER_API_KEY="sk-or-v1-fake-0123456789",
                       OPENROUTER_BASE_URL=f"{openrouter.url}/api/v1")
        script = ["--", sys.executable, "-c", COUNT.format(key=FAKE_ANTHROPIC_KEY)]
        (project / "lynkr.toml").write_text("[tiers]\nsimple = 'openrouter:small'\nreasoning = 'openrouter:big'\n")
        tiered = run_lynkr(["run", "--report", "none", *script], env, cwd=project)
        assert not anthropic.received and not openrouter.received
        (project / "lynkr.toml").unlink()
        direct = run_lynkr(["run", "--report", "none", *script], env, cwd=project)
        forwarded = [r for r in anthropic.received if "count_tokens" in r.path]
    assert tiered.returncode == 0, tiered.stderr
    estimate = json.loads(tiered.stdout)["input_tokens"]
    assert 10 < estimate < 40  # the system prompt and the question, in o200k tokens
    assert direct.returncode == 0, direct.stderr
    assert json.loads(direct.stdout) == {"input_tokens": 4242}
    assert len(forwarded) == 1
    assert FAKE_ANTHROPIC_KEY in (forwarded[0].headers.get("x-api-key"), forwarded[0].headers.get("authorization", "")[7:])
    first, second = count_rows(lynkr_home)
    assert first["provider"] == "lynkr" and first["details"]["count_tokens"]["for"] == "openrouter:small"
    assert second["provider"] == "anthropic" and "count_tokens" not in (second["details"] or {})
