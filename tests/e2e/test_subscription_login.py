"""A Claude subscription login never reaches another provider.

The user is logged in to Claude Code with a subscription (an OAuth bearer ``sk-ant-oat…`` stored in
``~/.claude/.credentials.json``, exactly where Claude Code keeps it on Linux) and sends some or all
requests to OpenRouter. The fake OpenRouter records every byte it receives: the subscription token
must not be among them. Where a route does go to Anthropic, the subscription keeps working there.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.conftest import agent_binary, base_env, ledger_rows, run_lynkr
from tests.fakes.anthropic import Turn, messages_handler, reply_for
from tests.fakes.openai import openai_handler
from tests.fakes.server import FakeUpstream, Received

pytestmark = pytest.mark.e2e

OAUTH_TOKEN = "sk-ant-oat01-SUBSCRIPTION-0123456789abcdefghijklmnop"
OPENROUTER_KEY = "sk-or-v1-lynkr-holds-this-0123456789"
EASY = "What does git stash do?"
HARD = ("Analyse the security trade-offs of storing JWT tokens in localStorage vs httpOnly cookies for a "
        "banking application. Step by step.")


@pytest.fixture
def subscriber_home(tmp_path: Path) -> Path:
    """A HOME logged in to Claude Code with a (fake) subscription, nothing else."""
    home = tmp_path / "subscriber"
    (home / ".claude").mkdir(parents=True)
    expires = int((time.time() + 86400) * 1000)
    (home / ".claude" / ".credentials.json").write_text(json.dumps({"claudeAiOauth": {
        "accessToken": OAUTH_TOKEN, "refreshToken": "sk-ant-ort01-REFRESH-0123456789", "expiresAt": expires,
        "scopes": ["user:inference", "user:profile"], "subscriptionType": "max"}}))
    (home / ".claude.json").write_text(json.dumps({"hasCompletedOnboarding": True, "oauthAccount": {
        "accountUuid": "00000000-0000-0000-0000-000000000001", "emailAddress": "user@example.com",
        "organizationUuid": "00000000-0000-0000-0000-000000000002"}}))
    return home


def everything_received(upstream: FakeUpstream) -> str:
    return "\n".join(f"{r.method} {r.path}\n{json.dumps(r.headers)}\n{r.body.decode(errors='replace')}"
                     for r in upstream.received)


def test_all_requests_to_openrouter_never_carry_the_subscription(lynkr_home, subscriber_home, tmp_path):
    agent_binary("claude")
    with FakeUpstream(openai_handler(lambda r, b: Turn(text="answer from openrouter"))) as openrouter:
        env = base_env(lynkr_home, subscriber_home, OPENROUTER_BASE_URL=f"{openrouter.url}/api/v1",
                       OPENROUTER_API_KEY=OPENROUTER_KEY)
        result = run_lynkr(["run", "--model", "openrouter:qwen/qwen3-coder", "claude", "-p", "say hi",
                            "--output-format", "json"], env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["result"] == "answer from openrouter"
    received = everything_received(openrouter)
    assert "sk-ant" not in received and "SUBSCRIPTION" not in received
    assert all(r.headers["authorization"] == f"Bearer {OPENROUTER_KEY}" for r in openrouter.received
               if r.method == "POST")


def test_mixed_tiers_keep_the_subscription_on_anthropic_only(lynkr_home, subscriber_home, tmp_path):
    agent_binary("claude")

    def anthropic(request: Received, body: dict):  # type: ignore[no-untyped-def]
        return reply_for(Turn(text="answer from anthropic"), request)

    with FakeUpstream(openai_handler(lambda r, b: Turn(text="answer from openrouter"))) as openrouter, \
            FakeUpstream(messages_handler(anthropic)) as claude_api:
        env = base_env(lynkr_home, subscriber_home, OPENROUTER_BASE_URL=f"{openrouter.url}/api/v1",
                       OPENROUTER_API_KEY=OPENROUTER_KEY, ANTHROPIC_BASE_URL=claude_api.url,
                       TIER_SIMPLE="openrouter:qwen/qwen3-coder", TIER_REASONING="anthropic:claude-opus-4-5")
        easy = run_lynkr(["run", "claude", "-p", EASY, "--output-format", "json"], env, cwd=tmp_path)
        hard = run_lynkr(["run", "claude", "-p", HARD, "--output-format", "json"], env, cwd=tmp_path)
    assert easy.returncode == 0 and hard.returncode == 0, easy.stderr + hard.stderr
    assert json.loads(easy.stdout)["result"] == "answer from openrouter"
    assert json.loads(hard.stdout)["result"] == "answer from anthropic"
    # A route passes through to the user's own login: lynkr gave Claude Code no token of its own, so
    # no warning was printed and the subscription still pays for what goes to Anthropic ...
    assert not easy.stderr.startswith("lynkr: Claude Code has no login")
    anthropic_calls = [r for r in claude_api.received if r.method == "POST"]
    assert anthropic_calls and all(r.headers["authorization"] == f"Bearer {OAUTH_TOKEN}" for r in anthropic_calls)
    # ... and none of it, nor lynkr's token, went to OpenRouter.
    received = everything_received(openrouter)
    assert openrouter.received and "sk-ant" not in received and "SUBSCRIPTION" not in received
    assert all(r.headers["authorization"] == f"Bearer {OPENROUTER_KEY}" for r in openrouter.received
               if r.method == "POST")
    _, requests = ledger_rows(lynkr_home)
    assert {r["provider"] for r in requests if r["route"] == "/v1/messages"} == {"openrouter", "anthropic"}
    assert OAUTH_TOKEN not in json.dumps(requests)
