"""The real Codex through ``lynkr run --model anthropic:…``: every translated request carries the cache
breakpoints a native client sends, at positions that keep the cached prefix valid turn after turn."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import FAKE_ANTHROPIC_KEY, agent_binary, run_lynkr
from tests.e2e.test_providers_e2e import codex_env, project  # noqa: F401  (project is a fixture)
from tests.fakes.anthropic import Turn, messages_handler, reply_for
from tests.fakes.server import FakeUpstream, Received, Reply

pytestmark = pytest.mark.e2e
MARK = {"type": "ephemeral"}


def unmarked(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: unmarked(v) for k, v in value.items() if k != "cache_control"}
    if isinstance(value, list):
        return [unmarked(v) for v in value]
    return value


def test_codex_on_anthropic_gets_prefix_stable_cache_breakpoints(lynkr_home, tmp_path, project) -> None:  # noqa: F811
    agent_binary("codex")
    script = [["ls"], ["cat marker-file.txt", "ls -la"]]
    turns: list[int] = []

    def respond(request: Received, body: dict) -> Reply:
        step = len(turns)
        turns.append(step)
        if step < len(script):
            return reply_for(Turn(tool_calls=[("exec_command", {"cmd": c}) for c in script[step]]), request)
        return reply_for(Turn(text="Done."), request)

    with FakeUpstream(messages_handler(respond)) as upstream:
        env = codex_env(lynkr_home, tmp_path, ANTHROPIC_API_KEY=FAKE_ANTHROPIC_KEY, ANTHROPIC_BASE_URL=upstream.url)
        result = run_lynkr(["run", "--model", "anthropic:claude-test", "codex", "exec", "--skip-git-repo-check",
                            "list the files"], env, cwd=project)
        bodies = [r.json for r in upstream.received if r.method == "POST" and r.path.startswith("/v1/messages")]
    assert result.returncode == 0, result.stderr
    assert len(bodies) == 3
    for body in bodies:
        assert body["tools"][-1]["cache_control"] == MARK
        assert body["system"][-1]["cache_control"] == MARK
        assert body["messages"][-1]["content"][-1]["cache_control"] == MARK
        marks = sum("cache_control" in b for m in body["messages"] if isinstance(m["content"], list) for b in m["content"])
        assert marks + 2 <= 4  # Anthropic's limit
    for before, after in zip(bodies, bodies[1:]):
        # What was cached on one turn is the start of the next: same tools, system and messages.
        assert unmarked(after["tools"]) == unmarked(before["tools"])
        assert unmarked(after["system"]) == unmarked(before["system"])
        assert unmarked(after["messages"][:len(before["messages"])]) == unmarked(before["messages"])
        # The previous request's end carries a marker again, so Anthropic finds the cache it wrote.
        assert after["messages"][len(before["messages"]) - 1]["content"][-1]["cache_control"] == MARK
