"""Upstream errors on translated routes as the real agents show them (``lynkr run --model …``).

The fault suites check each error reaches an SDK in its own format; here the real ``claude`` and
``codex`` binaries show the user the upstream's message and fail as they do without lynkr, and the
ledger has the calls.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import FAKE_ANTHROPIC_KEY, agent_binary, base_env, ledger_rows, run_lynkr
from tests.fakes.anthropic import error_reply
from tests.fakes.server import FakeUpstream, Reply


@pytest.fixture
def project(tmp_path: Path) -> Path:
    directory = tmp_path / "project"
    directory.mkdir()
    return directory


def test_claude_code_on_ollama_with_the_model_not_pulled(lynkr_home, user_home, project):
    """The most common local-model fault: Ollama answers 404 "model not found, try pulling it".
    Claude Code prints that message and exits non-zero. (Relayed as a 404, Claude Code said instead
    that *its* model, claude-opus-…, may not exist: lynkr sends a translated 404 as a 400.)"""
    agent_binary("claude")
    missing = Reply(status=404, headers={"content-type": "application/json"},
                    body=b'{"error":"model \\"qwen2.5-coder:7b\\" not found, try pulling it first"}')
    with FakeUpstream(lambda request: missing) as upstream:
        env = base_env(lynkr_home, user_home, ANTHROPIC_API_KEY=FAKE_ANTHROPIC_KEY,
                       OLLAMA_HOST=f"127.0.0.1:{upstream.port}")
        result = run_lynkr(["run", "--report", "none", "--model", "ollama:qwen2.5-coder:7b", "claude", "-p", "hi",
                            "--output-format", "json"], env, cwd=project)
    assert result.returncode != 0
    shown = json.loads(result.stdout)
    assert shown["is_error"] and "try pulling it first" in shown["result"], shown
    _, requests = ledger_rows(lynkr_home)
    calls = [r for r in requests if r["route"] == "/v1/messages"]
    assert calls and all(r["status"] == 400 and r["provider"] == "ollama" and "HTTP 404" in r["error"]
                         and "try pulling it" in r["error"] for r in calls)


def test_codex_on_anthropic_shows_the_upstreams_refusal(lynkr_home, tmp_path, project):
    """A Codex turn translated to Anthropic that Anthropic refuses (400, prompt too long): Codex
    shows Anthropic's message and exits non-zero; each call is in the ledger with the 400."""
    agent_binary("codex")
    refusal = error_reply(400, "invalid_request_error", "prompt is too long: 250000 tokens > 200000 maximum")
    with FakeUpstream(lambda request: refusal) as upstream:
        home = tmp_path / "codex-home"
        (home / ".codex").mkdir(parents=True)
        env = base_env(lynkr_home, None, HOME=str(home), CODEX_HOME=str(home / ".codex"),
                       ANTHROPIC_API_KEY=FAKE_ANTHROPIC_KEY, ANTHROPIC_BASE_URL=upstream.url)
        result = run_lynkr(["run", "--report", "none", "--model", "anthropic:claude-test", "codex", "exec",
                            "--skip-git-repo-check", "hi"], env, cwd=project)
    assert result.returncode != 0
    assert "prompt is too long" in result.stdout + result.stderr
    _, requests = ledger_rows(lynkr_home)
    calls = [r for r in requests if r["route"] == "/v1/responses"]
    assert calls and all(r["status"] == 400 and r["provider"] == "anthropic" for r in calls)
