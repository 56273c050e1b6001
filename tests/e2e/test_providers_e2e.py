"""The real agents on other providers' wire formats: Claude Code on OpenAI-Chat and Ollama upstreams,
Codex on an OpenAI Responses upstream (pass-through) and on Anthropic (translation), each completing
a real tool round trip (the agent runs the tool and the result reaches the model)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import FAKE_ANTHROPIC_KEY, FAKE_OPENAI_KEY, agent_binary, base_env, ledger_rows, run_lynkr
from tests.fakes.anthropic import Turn, has_tool_result, messages_handler, reply_for, tool_results
from tests.fakes.ollama import ollama_handler
from tests.fakes.openai import openai_handler
from tests.fakes.server import FakeUpstream, Received

pytestmark = pytest.mark.e2e


def chat_tool_result(body: dict) -> str | None:
    """The last tool result of a Chat Completions or Ollama request (``role: tool``)."""
    messages = body.get("messages") or []
    if messages and messages[-1].get("role") == "tool":
        content = messages[-1].get("content")
        return content if isinstance(content, str) else json.dumps(content)
    return None


def responses_tool_result(body: dict) -> str | None:
    items = body.get("input") or []
    if items and isinstance(items[-1], dict) and items[-1].get("type") == "function_call_output":
        output = items[-1].get("output")
        return output if isinstance(output, str) else json.dumps(output)
    return None


@pytest.fixture
def project(tmp_path: Path) -> Path:
    workdir = tmp_path / "project"
    workdir.mkdir()
    (workdir / "marker-file.txt").write_text("x")
    return workdir


def _claude_tool_turns(seen: list[str], result_of):  # type: ignore[no-untyped-def]
    def respond(request: Received, body: dict) -> Turn:
        if not body.get("tools"):
            return Turn(text="Side answer")
        result = result_of(body)
        if result is not None:
            seen.append(result)
            return Turn(text="I listed the files.", input_tokens=210, output_tokens=7)
        return Turn(tool_calls=[("Bash", {"command": "ls", "description": "List files"})], input_tokens=200,
                    output_tokens=12)

    return respond


@pytest.mark.parametrize("upstream_kind", ["openrouter", "ollama"])
def test_claude_code_on_openai_chat_and_ollama_with_a_tool_round_trip(upstream_kind, lynkr_home, user_home, project):
    agent_binary("claude")
    seen: list[str] = []
    respond = _claude_tool_turns(seen, chat_tool_result)
    handler = openai_handler(respond) if upstream_kind == "openrouter" else ollama_handler(respond)
    with FakeUpstream(handler) as upstream:
        if upstream_kind == "openrouter":
            model = "openrouter:qwen/qwen3-coder"
            extra = {"OPENROUTER_BASE_URL": f"{upstream.url}/api/v1", "OPENROUTER_API_KEY": "sk-or-v1-fake-key-1234567890"}
        else:
            model = "ollama:qwen2.5-coder:7b"
            extra = {"OLLAMA_HOST": f"127.0.0.1:{upstream.port}"}
        env = base_env(lynkr_home, user_home, ANTHROPIC_API_KEY=FAKE_ANTHROPIC_KEY, **extra)
        result = run_lynkr(["run", "--model", model, "claude", "-p", "list the files", "--output-format", "json",
                            "--allowedTools", "Bash"], env, cwd=project)
        sent = [r.json for r in upstream.received if r.method == "POST"]
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["result"] == "I listed the files."
    assert any("marker-file.txt" in r for r in seen), seen
    # Claude Code's tools reached the upstream in its format with their full schemas.
    main = next(b for b in sent if b.get("tools"))
    assert main["model"] == model.split(":", 1)[1]
    bash = next(t for t in main["tools"] if t["function"]["name"] == "Bash")
    assert "command" in bash["function"]["parameters"]["properties"]
    if upstream_kind == "openrouter":
        assert all(s["stream"] and s["stream_options"] == {"include_usage": True} for s in sent)
    _, requests = ledger_rows(lynkr_home)
    calls = [r for r in requests if r["route"] == "/v1/messages"]
    assert len(calls) >= 2 and all(r["status"] == 200 for r in calls)
    assert {r["provider"] for r in calls} == {upstream_kind}
    assert {r["model_used"] for r in calls} == {model.split(":", 1)[1]}
    assert any(r["input_tokens"] == 210 and r["output_tokens"] == 7 for r in calls)
    assert "FAKE" not in json.dumps(requests)


def _codex_turns(seen: list[str], result_of):  # type: ignore[no-untyped-def]
    def respond(request: Received, body: dict) -> Turn:
        result = result_of(body)
        if result is not None:
            seen.append(result)
            return Turn(text="Listed the files.", input_tokens=300, output_tokens=5)
        return Turn(tool_calls=[("exec_command", {"cmd": "ls"})], input_tokens=250, output_tokens=9)

    return respond


def codex_env(lynkr_home: Path, tmp_path: Path, **extra: str) -> dict[str, str]:
    home = tmp_path / "codex-home"
    (home / ".codex").mkdir(parents=True)
    return base_env(lynkr_home, None, HOME=str(home), CODEX_HOME=str(home / ".codex"), **extra)


def test_codex_on_openai_responses_passes_through_with_a_tool_round_trip(lynkr_home, tmp_path, project):
    agent_binary("codex")
    seen: list[str] = []
    with FakeUpstream(openai_handler(_codex_turns(seen, responses_tool_result))) as upstream:
        env = codex_env(lynkr_home, tmp_path, OPENAI_API_KEY=FAKE_OPENAI_KEY, OPENAI_BASE_URL=f"{upstream.url}/v1")
        result = run_lynkr(["run", "codex", "exec", "--skip-git-repo-check", "-m", "gpt-test", "list the files"],
                           env, cwd=project)
        received = [r for r in upstream.received if r.method == "POST"]
    assert result.returncode == 0, result.stderr
    assert "Listed the files." in result.stdout
    assert any("marker-file.txt" in r for r in seen), seen
    # Codex's own key and body reached OpenAI untouched (the user's -m kept).
    assert all(r.path == "/v1/responses" and r.headers["authorization"] == f"Bearer {FAKE_OPENAI_KEY}"
               for r in received)
    assert all(r.json["model"] == "gpt-test" for r in received)
    _, requests = ledger_rows(lynkr_home)
    calls = [r for r in requests if r["route"] == "/v1/responses"]
    assert len(calls) >= 2 and {r["provider"] for r in calls} == {"openai"}
    assert all(r["status"] == 200 and r["inbound_format"] == "openai-responses" for r in calls)
    assert any(r["input_tokens"] == 300 and r["output_tokens"] == 5 for r in calls)
    assert all(r["details"]["provider"]["original_bytes"] for r in calls)


def test_codex_on_anthropic_translates_with_a_tool_round_trip(lynkr_home, tmp_path, project):
    agent_binary("codex")
    seen: list[str] = []

    def respond(request: Received, body: dict):  # type: ignore[no-untyped-def]
        if has_tool_result(body):
            seen.extend(str(b["content"]) for b in tool_results(body))
            return reply_for(Turn(text="Listed the files.", input_tokens=300, output_tokens=5), request)
        return reply_for(Turn(tool_calls=[("exec_command", {"cmd": "ls"})], input_tokens=250), request)

    with FakeUpstream(messages_handler(respond)) as upstream:
        env = codex_env(lynkr_home, tmp_path, ANTHROPIC_API_KEY=FAKE_ANTHROPIC_KEY, ANTHROPIC_BASE_URL=upstream.url)
        result = run_lynkr(["run", "--model", "anthropic:claude-test", "codex", "exec", "--skip-git-repo-check",
                            "list the files"], env, cwd=project)
        received = [r for r in upstream.received if r.method == "POST"]
    assert result.returncode == 0, result.stderr
    assert "Listed the files." in result.stdout
    assert any("marker-file.txt" in r for r in seen), seen
    assert all(r.headers["x-api-key"] == FAKE_ANTHROPIC_KEY and r.json["model"] == "claude-test" for r in received)
    tools = {t["name"]: t for t in received[0].json["tools"]}
    assert "exec_command" in tools and "cmd" in tools["exec_command"]["input_schema"]["properties"]
    _, requests = ledger_rows(lynkr_home)
    calls = [r for r in requests if r["route"] == "/v1/responses"]
    assert len(calls) >= 2 and {r["provider"] for r in calls} == {"anthropic"}
    assert {r["model_used"] for r in calls} == {"claude-test"}


def test_codex_exit_code_and_error_are_the_same_as_without_lynkr(lynkr_home, tmp_path, project):
    """An upstream refusing the key: Codex fails the same way through lynkr, and the call is recorded."""
    import subprocess

    from tests.fakes.openai import openai_error

    codex = agent_binary("codex")
    refused = openai_error(401, "Incorrect API key provided", "invalid_request_error")
    with FakeUpstream(lambda request: refused) as upstream:
        env = codex_env(lynkr_home, tmp_path, OPENAI_API_KEY=FAKE_OPENAI_KEY, OPENAI_BASE_URL=f"{upstream.url}/v1")
        via = run_lynkr(["run", "codex", "exec", "--skip-git-repo-check", "-m", "gpt-test", "hi"], env, cwd=project)
        provider = (f'model_providers.direct={{name="direct", base_url="{upstream.url}/v1", env_key="OPENAI_API_KEY", '
                    'wire_api="responses"}')
        direct = subprocess.run([codex, "-c", "model_provider=direct", "-c", provider, "exec", "--skip-git-repo-check",
                                 "-m", "gpt-test", "hi"], env=env, cwd=project, capture_output=True, text=True,
                                timeout=120)
    assert via.returncode == direct.returncode != 0
    assert "Incorrect API key provided" in via.stderr + via.stdout
    _, requests = ledger_rows(lynkr_home)
    calls = [r for r in requests if r["route"] == "/v1/responses"]
    assert calls and all(r["status"] == 401 and r["provider"] == "openai" for r in calls)


def test_codex_on_a_local_ollama_model_with_a_tool_round_trip(lynkr_home, tmp_path, project):
    agent_binary("codex")
    seen: list[str] = []
    with FakeUpstream(ollama_handler(_codex_turns(seen, chat_tool_result))) as upstream:
        env = codex_env(lynkr_home, tmp_path, OLLAMA_HOST=f"127.0.0.1:{upstream.port}")
        result = run_lynkr(["run", "--model", "ollama:qwen2.5-coder:7b", "codex", "exec", "--skip-git-repo-check",
                            "list the files"], env, cwd=project)
        received = [r.json for r in upstream.received if r.method == "POST"]
    assert result.returncode == 0, result.stderr
    assert "Listed the files." in result.stdout
    assert any("marker-file.txt" in r for r in seen), seen
    assert all(body["model"] == "qwen2.5-coder:7b" and body["stream"] is True for body in received)
    assert "exec_command" in {t["function"]["name"] for t in received[0]["tools"]}
    _, requests = ledger_rows(lynkr_home)
    calls = [r for r in requests if r["route"] == "/v1/responses"]
    assert len(calls) >= 2 and {r["provider"] for r in calls} == {"ollama"}


def test_codex_uses_its_own_login_when_no_key_is_in_the_environment(lynkr_home, tmp_path, project):
    """``codex login --with-api-key`` stored the key; lynkr tells Codex to use its login and forwards it."""
    import subprocess

    codex = agent_binary("codex")
    login_key = "sk-proj-LOGIN-0123456789abcdefghij"
    seen: list[str] = []
    with FakeUpstream(openai_handler(_codex_turns(seen, responses_tool_result))) as upstream:
        env = codex_env(lynkr_home, tmp_path, OPENAI_BASE_URL=f"{upstream.url}/v1")
        login = subprocess.run([codex, "login", "--with-api-key"], input=login_key, env=env, capture_output=True,
                               text=True, timeout=60)
        assert login.returncode == 0, login.stderr
        result = run_lynkr(["run", "codex", "exec", "--skip-git-repo-check", "-m", "gpt-test", "list the files"],
                           env, cwd=project)
        received = [r for r in upstream.received if r.method == "POST"]
    assert result.returncode == 0, result.stderr
    assert "Listed the files." in result.stdout and any("marker-file.txt" in r for r in seen)
    assert received and all(r.headers["authorization"] == f"Bearer {login_key}" for r in received)
    _, requests = ledger_rows(lynkr_home)
    assert login_key not in json.dumps(requests)
