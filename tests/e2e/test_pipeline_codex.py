"""The real ``codex`` binary through lynkr's pipeline: its tool output is compressed inside its own body."""

from __future__ import annotations

import json

import pytest
import toon_format

from bench.scenarios.data import grep_result
from tests.conftest import FAKE_OPENAI_KEY, agent_binary, base_env, ledger_rows, run_lynkr
from tests.fakes.anthropic import Turn
from tests.fakes.openai import openai_handler
from tests.fakes.server import FakeUpstream, Received

pytestmark = pytest.mark.e2e
ROWS = grep_result()[:20]


def test_codex_exec_output_reaches_openai_as_toon_in_codexs_own_body(lynkr_home, tmp_path):
    agent_binary("codex")
    project = tmp_path / "project"
    project.mkdir()
    (project / "todos.json").write_text(json.dumps(ROWS, indent=2) + "\n")
    outputs: list[dict] = []

    def respond(request: Received, body: dict) -> Turn:
        results = [i for i in body.get("input", []) if i.get("type") == "function_call_output"]
        if results:
            outputs.extend(results)
            return Turn(text="20 TODOs.", input_tokens=300, output_tokens=5)
        return Turn(tool_calls=[("exec_command", {"cmd": "cat todos.json", "tty": False})], input_tokens=250)

    home = tmp_path / "codex-home"
    (home / ".codex").mkdir(parents=True)
    with FakeUpstream(openai_handler(respond)) as upstream:
        env = base_env(lynkr_home, None, HOME=str(home), CODEX_HOME=str(home / ".codex"),
                       OPENAI_API_KEY=FAKE_OPENAI_KEY, OPENAI_BASE_URL=f"{upstream.url}/v1")
        result = run_lynkr(["run", "codex", "exec", "--skip-git-repo-check", "-m", "gpt-test", "count the TODOs"],
                           env, cwd=project)
    assert result.returncode == 0, result.stderr
    assert "20 TODOs." in result.stdout
    (output,) = outputs
    assert output["id"].startswith("fco_")  # Codex's own item, edited in place, not re-encoded
    header, body = output["output"].split("Output:\n", 1)
    assert header.startswith("Chunk ID:")
    assert toon_format.decode(body) == ROWS
    _, requests = ledger_rows(lynkr_home)
    pipeline = [r["details"]["pipeline"] for r in requests if r["details"].get("pipeline", {}).get("changed")]
    assert pipeline and pipeline[-1]["edited_in_client_format"] is True
    (compress,) = [stage for stage in pipeline[-1]["stages"] if stage["stage"] == "compress"]
    assert compress["items"][0]["representation"] == "toon"
