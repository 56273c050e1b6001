"""Tier routing with the real Codex CLI: its Responses requests go to the tier's model, whichever API
that model speaks (OpenAI Responses passed through, Anthropic translated), and ``[routing.models]`` maps
the ``-m`` Codex was given."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import FAKE_ANTHROPIC_KEY, FAKE_OPENAI_KEY, agent_binary, base_env, ledger_rows, run_lynkr
from tests.fakes.anthropic import Turn, messages_handler, reply_for
from tests.fakes.openai import openai_handler
from tests.fakes.server import FakeUpstream

pytestmark = pytest.mark.e2e

EASY = "What does git stash do?"
HARD = ("Analyse the security trade-offs of storing JWT tokens in localStorage vs httpOnly cookies for a "
        "banking application. Step by step.")


def codex(prompt: str, env: dict[str, str], cwd: Path):  # type: ignore[no-untyped-def]
    return run_lynkr(["run", "codex", "exec", "--skip-git-repo-check", "-m", "gpt-5-codex", prompt], env, cwd=cwd)


def test_codex_requests_are_routed_by_tier_and_by_model_name(lynkr_home, tmp_path):
    agent_binary("codex")
    project = tmp_path / "project"
    project.mkdir()
    home = tmp_path / "codex-home"
    (home / ".codex").mkdir(parents=True)
    with FakeUpstream(openai_handler(lambda r, b: Turn(text="cheap openai answer"))) as cheap, \
            FakeUpstream(messages_handler(lambda r, b: reply_for(Turn(text="strong anthropic answer"), r))) as strong:
        env = base_env(lynkr_home, None, HOME=str(home), CODEX_HOME=str(home / ".codex"),
                       OPENAI_API_KEY=FAKE_OPENAI_KEY, OPENAI_BASE_URL=f"{cheap.url}/v1",
                       ANTHROPIC_API_KEY=FAKE_ANTHROPIC_KEY, ANTHROPIC_BASE_URL=strong.url,
                       TIER_SIMPLE="openai:gpt-small", TIER_REASONING="anthropic:claude-strong")
        easy = codex(EASY, env, project)
        assert easy.returncode == 0, easy.stderr
        assert "cheap openai answer" in easy.stdout
        hard = codex(HARD, env, project)
        assert hard.returncode == 0, hard.stderr
        assert "strong anthropic answer" in hard.stdout
        # The agent's -m is mapped: every gpt-5-codex request goes to the top tier, even an easy one.
        (project / "lynkr.toml").write_text('[routing.models]\n"gpt-5-codex" = "reasoning"\n')
        mapped = codex(EASY, env, project)
        assert mapped.returncode == 0, mapped.stderr
        assert "strong anthropic answer" in mapped.stdout
        assert {r.json["model"] for r in cheap.received if r.method == "POST"} == {"gpt-small"}
        assert {r.json["model"] for r in strong.received if r.method == "POST"} == {"claude-strong"}
    _, requests = ledger_rows(lynkr_home)
    calls = sorted((r for r in requests if r["route"] == "/v1/responses"), key=lambda r: r["started_at"])
    routes = [(r["details"]["route"]["tier"], r["provider"], r["details"]["route"].get("rule")) for r in calls]
    assert routes[0][:2] == ("SIMPLE", "openai") and routes[1][:2] == ("REASONING", "anthropic")
    assert routes[-1] == ("REASONING", "anthropic", "model-map")
