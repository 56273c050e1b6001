"""The real Claude Code binary through ``lynkr run --cache exact``: a repeated question is answered
from the cache as a stream Claude Code accepts, and the upstream is not called again."""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import FAKE_ANTHROPIC_KEY, agent_binary, base_env, ledger_rows, run_lynkr
from tests.fakes.anthropic import Turn, messages_handler, reply_for
from tests.fakes.server import FakeUpstream

pytestmark = pytest.mark.e2e


def _claude_runs(lynkr_home, user_home, tmp_path, cache: str, prompts: list[str]):  # type: ignore[no-untyped-def]
    """``lynkr run --cache CACHE claude -p PROMPT`` once per prompt, in one project, against an upstream
    that numbers its answers. Returns the runs and the bodies the upstream received."""
    agent_binary("claude")
    calls = []

    def respond(request, body):  # type: ignore[no-untyped-def]
        calls.append(body)
        return reply_for(Turn(text=f"Fresh answer {len(calls)}", input_tokens=2000, output_tokens=30), request)

    workdir = tmp_path / "project"
    workdir.mkdir()
    with FakeUpstream(messages_handler(respond)) as upstream:
        env = base_env(lynkr_home, user_home, ANTHROPIC_BASE_URL=upstream.url, ANTHROPIC_API_KEY=FAKE_ANTHROPIC_KEY)
        runs = [run_lynkr(["run", "--cache", cache, "claude", "-p", prompt, "--output-format", "json"], env, cwd=workdir)
                for prompt in prompts]
    return runs, calls


def test_second_claude_run_is_answered_from_the_cache(lynkr_home, user_home, tmp_path):
    (first, second), calls = _claude_runs(lynkr_home, user_home, tmp_path, "exact", ["what is 2+2?"] * 2)
    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    assert json.loads(first.stdout)["result"] == "Fresh answer 1"
    assert json.loads(second.stdout)["result"] == "Fresh answer 1"
    assert len(calls) == 1
    _, rows = ledger_rows(lynkr_home)
    requests = sorted(rows, key=lambda r: r["started_at"])
    decisions = [r["details"]["cache"]["decision"] for r in requests if r["route"] == "/v1/messages"]
    assert decisions == ["miss", "hit-exact"]
    hit = [r for r in requests if r["route"] == "/v1/messages"][1]
    assert hit["streamed"] and hit["input_tokens"] == 0 and hit["cost_usd"] == 0.0


def test_unknown_cache_mode_is_a_clear_error(lynkr_home):
    result = run_lynkr(["run", "--cache", "sometimes", "--", "true"], base_env(lynkr_home))
    assert result.returncode == 2
    assert "--cache must be one of off, exact, semantic" in result.stderr
    assert "Traceback" not in result.stderr


def test_reworded_question_in_a_new_claude_session_is_a_semantic_hit(lynkr_home, user_home, tmp_path):
    outputs, _ = _claude_runs(lynkr_home, user_home, tmp_path, "semantic",
                              ["What is the time complexity of quicksort?",
                               "quicksort time complexity",
                               "What is the space complexity of quicksort?"])
    assert all(o.returncode == 0 for o in outputs), [o.stderr for o in outputs]
    assert [json.loads(o.stdout)["result"] for o in outputs] == ["Fresh answer 1", "Fresh answer 1", "Fresh answer 2"]
    assert re.search(r"cache: 1 hit \(0 exact, 1 semantic at similarity 0\.\d\d\)", outputs[1].stderr)
    _, rows = ledger_rows(lynkr_home)
    decisions = [r["details"]["cache"]["decision"] for r in sorted(rows, key=lambda r: r["started_at"])
                 if r["route"] == "/v1/messages"]
    assert decisions == ["miss", "hit-semantic", "miss"]
