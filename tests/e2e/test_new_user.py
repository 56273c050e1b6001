"""Claude Code and Codex on another provider, on a machine where they never logged in.

This is the case lynkr exists for: someone with no Anthropic (or OpenAI) account runs Claude Code on
OpenRouter, Ollama or another provider. Without lynkr's help Claude Code prints ``Not logged in ·
Please run /login`` and sends nothing; Codex shows its sign-in screen. Each test runs the REAL pinned
agent with a HOME where it never ran (``new_user_home``) and no key of the agent's own provider, only
the key of the provider lynkr routes to. The fake provider records every header it receives: the
session token lynkr gives the agent as its key must never reach it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import agent_binary, base_env, ledger_rows, lynkr_command, run_lynkr
from tests.e2e.screen import DOWN, ENTER, AgentScreen
from tests.fakes.anthropic import Turn
from tests.fakes.ollama import ollama_handler
from tests.fakes.openai import openai_handler
from tests.fakes.server import FakeUpstream, Received

pytestmark = pytest.mark.e2e

OPENROUTER_KEY = "sk-or-v1-lynkr-holds-this-0123456789"
# What a screen must never show a new user whose requests lynkr can authenticate.
LOGIN_WALL = r"not logged in|/login|login method|sign in|custom api key|use this api key|invalid api key"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    workdir = tmp_path / "project"
    workdir.mkdir()
    (workdir / "marker-file.txt").write_text("x")
    return workdir


def openrouter_env(lynkr_home: Path, home: Path, upstream: FakeUpstream, **extra: str) -> dict[str, str]:
    return base_env(lynkr_home, home, OPENROUTER_BASE_URL=f"{upstream.url}/api/v1", OPENROUTER_API_KEY=OPENROUTER_KEY,
                    **extra)


def assert_only_lynkrs_key_arrived(upstream: FakeUpstream, key: str = OPENROUTER_KEY) -> None:
    """Every call carried the provider key lynkr holds, and nothing else that looks like a credential."""
    calls = [r for r in upstream.received if r.method == "POST"]
    assert calls
    for call in calls:
        assert call.headers.get("authorization") == f"Bearer {key}", call.headers
        assert "x-api-key" not in call.headers and "x-lynkr-token" not in call.headers
        assert "/s/" not in call.path


def tool_turns(seen: list[str]):  # type: ignore[no-untyped-def]
    """A model that asks for ``ls`` once, then answers with what the tool returned."""

    def respond(request: Received, body: dict) -> Turn:
        messages = body.get("messages") or []
        if not body.get("tools"):
            return Turn(text="Side answer")
        if messages and messages[-1].get("role") == "tool":
            seen.append(str(messages[-1].get("content")))
            return Turn(text="I listed the files.")
        return Turn(tool_calls=[("Bash", {"command": "ls", "description": "List files"})])

    return respond


# -- Claude Code ------------------------------------------------------------------------------------
def test_claude_print_mode_on_openrouter_without_any_login(lynkr_home, new_user_home, project):
    agent_binary("claude")
    with FakeUpstream(openai_handler(lambda r, b: Turn(text="Hello from OpenRouter"))) as upstream:
        result = run_lynkr(["run", "--model", "openrouter:qwen/qwen3-coder", "claude", "-p", "say hi",
                            "--output-format", "json"], openrouter_env(lynkr_home, new_user_home, upstream),
                           cwd=project)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["result"] == "Hello from OpenRouter"
    assert "Not logged in" not in result.stdout + result.stderr
    assert result.stderr.startswith("lynkr: session")  # no warning: nothing needs a login here
    assert_only_lynkrs_key_arrived(upstream)


def test_claude_tool_round_trip_on_ollama_without_any_login(lynkr_home, new_user_home, project):
    agent_binary("claude")
    seen: list[str] = []
    with FakeUpstream(ollama_handler(tool_turns(seen))) as upstream:
        env = base_env(lynkr_home, new_user_home, OLLAMA_HOST=f"127.0.0.1:{upstream.port}")
        result = run_lynkr(["run", "--model", "ollama:qwen2.5-coder:7b", "claude", "-p", "list the files",
                            "--output-format", "json", "--allowedTools", "Bash"], env, cwd=project)
        calls = [r for r in upstream.received if r.method == "POST"]
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["result"] == "I listed the files."
    assert any("marker-file.txt" in r for r in seen), seen
    assert calls and not any("authorization" in c.headers or "x-api-key" in c.headers for c in calls)
    _, requests = ledger_rows(lynkr_home)
    assert {r["provider"] for r in requests if r["route"] == "/v1/messages"} == {"ollama"}


def test_claude_with_tiers_on_other_providers_needs_no_login(lynkr_home, new_user_home, project):
    """Tiers and the fallback chain all on providers lynkr holds keys for: the token is Claude Code's key."""
    agent_binary("claude")
    with FakeUpstream(openai_handler(lambda r, b: Turn(text="tiered answer"))) as upstream:
        (project / "lynkr.toml").write_text(
            "[tiers]\nsimple = 'openrouter:small'\ncomplex = 'openrouter:big'\n"
            "[routing]\nfallback = ['openrouter:other']\n[routing.slots]\nweb_search = 'complex'\n")
        result = run_lynkr(["run", "claude", "-p", "say hi", "--output-format", "json"],
                           openrouter_env(lynkr_home, new_user_home, upstream), cwd=project)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["result"] == "tiered answer"
    assert_only_lynkrs_key_arrived(upstream)


def finish_claude_onboarding(screen: AgentScreen) -> None:
    """Walk a first start's screens up to the prompt: text style, security notes, folder trust. They
    differ between versions (2.1.332 puts "No, exit" first); a login screen is never expected."""
    for _ in range(12):
        # The prompt is an empty "❯" line; its footer differs between versions ("? for shortcuts" on
        # 2.1.197, "auto mode on" on 2.1.332).
        screen.expect(r"(?m)text style|Security notes|trust this folder|^❯\s*$", timeout=60)
        text = screen.text
        if not re.search(r"text style|Security notes|trust this folder", text):
            return
        if "trust this folder" in text:
            for _ in range(4):
                selected = next((line for line in screen.text.splitlines() if "❯" in line), "")
                if "Yes" in selected:
                    break
                screen.type(DOWN)
        screen.type(ENTER)
        screen.settle(1.0)
    raise AssertionError(f"no prompt after onboarding; screen:\n{screen.text}")


@pytest.mark.parametrize("exported_key", [False, True], ids=["no-key", "anthropic-key-exported"])
def test_claude_interactive_on_a_pty_shows_no_login_or_key_prompt(lynkr_home, new_user_home, project, exported_key):
    """With an ANTHROPIC_API_KEY exported for other tools, Claude Code would ask "Detected a custom API
    key ... Do you want to use this API key?" at its first start; this run needs no Anthropic key."""
    agent_binary("claude")
    extra = {"ANTHROPIC_API_KEY": "sk-ant-api03-exported-for-other-tools-0123456789"} if exported_key else {}
    with FakeUpstream(openai_handler(lambda r, b: Turn(text="Interactive answer from OpenRouter"))) as upstream:
        env = openrouter_env(lynkr_home, new_user_home, upstream, TERM="xterm-256color", **extra)
        screen = AgentScreen(lynkr_command("run", "--model", "openrouter:qwen/qwen3-coder", "claude"), env, project)
        try:
            finish_claude_onboarding(screen)
            screen.type(*"say hi", ENTER)
            screen.expect(r"Interactive answer from OpenRouter", timeout=60)
            screen.wait_idle()
            code = screen.exit_with_ctrl_c()
        finally:
            screen.kill()
    assert code == 0, screen.text
    assert screen.ever_shown(LOGIN_WALL) == []
    assert_only_lynkrs_key_arrived(upstream)
    assert not any("sk-ant" in json.dumps(r.headers) for r in upstream.received)
    sessions, _ = ledger_rows(lynkr_home)
    assert sessions[0]["exit_code"] == 0


def test_without_a_login_for_a_route_that_needs_one_lynkr_says_what_to_do(lynkr_home, new_user_home, project):
    """No config: Claude Code's requests go to Anthropic with its own login, and there is none."""
    agent_binary("claude")
    result = run_lynkr(["run", "claude", "-p", "say hi"], base_env(lynkr_home, new_user_home), cwd=project)
    first = result.stderr.splitlines()[0]
    assert first.startswith("lynkr: Claude Code has no login or key of its own")
    assert "log in once with `claude` (/login) or set ANTHROPIC_API_KEY" in first and "--model" in first
    assert result.returncode == 1 and "Not logged in" in result.stdout + result.stderr  # Claude Code's own words


# -- Codex ------------------------------------------------------------------------------------------
def codex_env(lynkr_home: Path, home: Path, **extra: str) -> dict[str, str]:
    return base_env(lynkr_home, home, CODEX_HOME=str(home / ".codex"), **extra)


def test_codex_print_and_tool_round_trip_on_openrouter_without_any_login(lynkr_home, new_user_home, project):
    agent_binary("codex")
    (new_user_home / ".codex").mkdir()
    seen: list[str] = []

    def respond(request: Received, body: dict) -> Turn:
        messages = body.get("messages") or []
        if messages and messages[-1].get("role") == "tool":
            seen.append(str(messages[-1].get("content")))
            return Turn(text="Listed the files.")
        return Turn(tool_calls=[("exec_command", {"cmd": "ls"})])

    with FakeUpstream(openai_handler(respond)) as upstream:
        result = run_lynkr(["run", "--model", "openrouter:qwen/qwen3-coder", "codex", "exec", "--skip-git-repo-check",
                            "list the files"], codex_env(lynkr_home, new_user_home, OPENROUTER_BASE_URL=f"{upstream.url}/api/v1",
                                                         OPENROUTER_API_KEY=OPENROUTER_KEY), cwd=project)
    assert result.returncode == 0, result.stderr
    assert "Listed the files." in result.stdout
    assert any("marker-file.txt" in r for r in seen), seen
    assert_only_lynkrs_key_arrived(upstream)


def test_codex_interactive_on_a_pty_shows_no_sign_in(lynkr_home, new_user_home, project):
    agent_binary("codex")
    (new_user_home / ".codex").mkdir()
    with FakeUpstream(ollama_handler(lambda r, b: Turn(text="Interactive answer from Ollama"))) as upstream:
        env = codex_env(lynkr_home, new_user_home, OLLAMA_HOST=f"127.0.0.1:{upstream.port}", TERM="xterm-256color")
        screen = AgentScreen(lynkr_command("run", "--model", "ollama:qwen2.5-coder:7b", "codex"), env, project)
        try:
            screen.expect(r"Ask Codex|trust", timeout=60)
            if "trust" in screen.text.lower() and "Ask Codex" not in screen.text:
                screen.type(ENTER)
                screen.expect(r"Ask Codex", timeout=60)
            screen.type(*"say hi")
            screen.expect(r"say hi", timeout=60)  # in the composer: Enter now submits it
            screen.type(ENTER)
            screen.expect(r"Interactive answer from Ollama", timeout=60)
            screen.wait_idle()
            code = screen.exit_with_ctrl_c()
        finally:
            screen.kill()
    assert code == 0, screen.text
    assert screen.ever_shown(LOGIN_WALL) == []
    calls = [r for r in upstream.received if r.method == "POST"]
    assert calls and not any("authorization" in c.headers for c in calls)


def test_codex_without_a_login_for_openai_is_told_what_to_do(lynkr_home, new_user_home, project):
    agent_binary("codex")
    (new_user_home / ".codex").mkdir()
    result = run_lynkr(["run", "codex", "exec", "--skip-git-repo-check", "say hi"],
                       codex_env(lynkr_home, new_user_home, OPENAI_BASE_URL="http://127.0.0.1:9/v1"), cwd=project,
                       input="")
    first = result.stderr.splitlines()[0]
    assert first.startswith("lynkr: Codex has no login or key of its own")
    assert "run `codex login` or set OPENAI_API_KEY" in first
