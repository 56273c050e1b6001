"""The rebuild checked against the requests the real pinned agents sent.

The real ``claude`` and ``codex`` binaries run a short tool loop (parallel calls included) against a
scripted fake model; the fake keeps every request body; the transcript the agent wrote is then
rebuilt by ``lynkr replay``'s readers and compared with what was actually sent.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from lynkr_cli.replay.load import load_session
from tests.conftest import FAKE_ANTHROPIC_KEY, FAKE_OPENAI_KEY, agent_binary, base_env
from tests.fakes.anthropic import Turn, messages_handler, reply_for
from tests.fakes.openai import openai_handler
from tests.fakes.server import FakeUpstream, Received, Reply

pytestmark = pytest.mark.e2e


def without_markers(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: without_markers(v) for k, v in value.items() if k != "cache_control"}
    if isinstance(value, list):
        return [without_markers(v) for v in value]
    return value


def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "app.py").write_text("".join(f"def handler_{i}():\n    return {i}\n" for i in range(30)))
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    return root


def test_claude_code_requests_are_rebuilt_as_sent(tmp_path: Path) -> None:
    cwd, home = project(tmp_path), tmp_path / "home"
    (home / ".claude").mkdir(parents=True)
    (home / ".claude.json").write_text(json.dumps({"hasCompletedOnboarding": True, "numStartups": 5}))
    script = [[("Bash", {"command": "ls", "description": "list"}), ("Read", {"file_path": str(cwd / "app.py")})],
              [("Bash", {"command": "grep -n 'return 1' app.py", "description": "grep"})]]
    sent: list[dict] = []

    def respond(request: Received, body: dict) -> Reply:
        if not body.get("tools"):
            return reply_for(Turn(text="title"), request)
        sent.append(body)
        step = len(sent) - 1
        return reply_for(Turn(tool_calls=script[step]) if step < len(script) else Turn(text="Done."), request)

    with FakeUpstream(messages_handler(respond)) as upstream:
        env = base_env(tmp_path / "lynkr", home, ANTHROPIC_BASE_URL=upstream.url, ANTHROPIC_API_KEY=FAKE_ANTHROPIC_KEY)
        done = subprocess.run([agent_binary("claude"), "-p", "look at app.py", "--allowedTools", "Bash", "Read"],
                              env=env, cwd=cwd, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    transcript, = (home / ".claude" / "projects").rglob("*.jsonl")
    session = load_session(transcript)
    assert len(session.requests) == len(sent) == 3
    for real, rebuilt in zip(sent, session.requests):
        assert rebuilt.payload["model"] == real["model"]
        assert without_markers(rebuilt.payload["messages"]) == without_markers(real["messages"])
        # The breakpoint sits where Claude Code puts it: the last block of the last user message.
        last_user = [m for m in rebuilt.payload["messages"] if m["role"] == "user"][-1]
        assert last_user["content"][-1]["cache_control"] == {"type": "ephemeral"}
    assert [r.user_turn for r in session.requests] == [True, False, False]


def test_codex_requests_are_rebuilt_as_sent(tmp_path: Path) -> None:
    cwd, home = project(tmp_path), tmp_path / "home"
    (home / ".codex").mkdir(parents=True)
    script = [["ls", "cat app.py"], ["grep -n 'return 1' app.py"]]
    sent: list[dict] = []

    def respond(request: Received, body: dict) -> Turn:
        sent.append(body)
        step = len(sent) - 1
        if step < len(script):
            return Turn(tool_calls=[("exec_command", {"cmd": cmd, "workdir": str(cwd)}) for cmd in script[step]])
        return Turn(text="Done.")

    with FakeUpstream(openai_handler(respond)) as upstream:
        provider = (f'model_providers.fake={{name="fake", base_url="{upstream.url}/v1", '
                    f'env_key="LYNKR_TEST_KEY", wire_api="responses"}}')
        env = base_env(tmp_path / "lynkr", home, LYNKR_TEST_KEY=FAKE_OPENAI_KEY, CODEX_HOME=str(home / ".codex"))
        done = subprocess.run([agent_binary("codex"), "exec", "-c", "model_provider=fake", "-c", provider,
                               "-m", "gpt-5-codex", "--dangerously-bypass-approvals-and-sandbox", "look at app.py"],
                              env=env, cwd=cwd, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    transcript, = (home / ".codex" / "sessions").rglob("*.jsonl")
    session = load_session(transcript)
    assert len(session.requests) == len(sent) == 3

    def items(body: dict) -> list[dict]:  # ids aside; the first item is the base instructions (approximated)
        return [{k: v for k, v in item.items() if k != "id"} for item in body["input"][1:]]

    for real, rebuilt in zip(sent, session.requests):
        assert rebuilt.payload["model"] == real["model"]
        assert items(rebuilt.payload) == items(real)
        assert rebuilt.payload["tools"] == real["tools"]  # the pinned Codex's tool list
