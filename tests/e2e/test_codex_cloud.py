"""The real Codex binary through `lynkr run --model …` to the clouds: Bedrock (Responses translated to
Converse, signed, answered in the binary event stream) and Azure OpenAI (Responses on the
deployment, api-key and api-version), each with a real tool round trip."""

from __future__ import annotations

import json

import pytest

from tests.conftest import agent_binary, ledger_rows, run_lynkr
from tests.e2e.test_providers_e2e import codex_env, project  # noqa: F401  (project is a fixture)
from tests.fakes import bedrock as fake_bedrock
from tests.fakes.anthropic import Turn
from tests.fakes.openai import openai_error, responses_json, responses_stream
from tests.fakes.server import FakeUpstream, Received, Reply
from tests.proxy.test_cloud_providers import AWS, sigv4_valid

pytestmark = pytest.mark.e2e
BEDROCK_MODEL = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"


def test_codex_on_bedrock_with_a_tool_round_trip(lynkr_home, tmp_path, project) -> None:  # noqa: F811
    agent_binary("codex")
    seen: list[dict] = []
    base: list[str] = []

    def respond(request: Received, body: dict) -> Reply:
        if not sigv4_valid(request, base[0]):
            return fake_bedrock.error_reply(403, "InvalidSignatureException", "signature mismatch")
        results = [b["toolResult"] for b in body["messages"][-1]["content"] if "toolResult" in b]
        if results:
            seen.extend(results)
            return fake_bedrock.reply_for(Turn(text="Listed the files.", input_tokens=300, output_tokens=5), request)
        return fake_bedrock.reply_for(Turn(tool_calls=[("exec_command", {"cmd": "ls"})], input_tokens=250), request)

    with FakeUpstream(fake_bedrock.bedrock_handler(respond)) as upstream:
        base.append(upstream.url)
        aws = {k: v for k, v in AWS.items() if k != "HOME"}
        env = codex_env(lynkr_home, tmp_path, AWS_ENDPOINT_URL_BEDROCK_RUNTIME=upstream.url, **aws)
        result = run_lynkr(["run", "--model", f"bedrock:{BEDROCK_MODEL}", "codex", "exec", "--skip-git-repo-check",
                            "list the files"], env, cwd=project)
        received = [r for r in upstream.received if r.method == "POST"]
    assert result.returncode == 0, result.stderr
    assert "Listed the files." in result.stdout
    assert seen and "marker-file.txt" in json.dumps(seen[0]["content"]) and seen[0]["toolUseId"].startswith("tooluse_")
    specs = {t["toolSpec"]["name"]: t["toolSpec"] for t in received[0].json["toolConfig"]["tools"] if "toolSpec" in t}
    assert "cmd" in specs["exec_command"]["inputSchema"]["json"]["properties"]
    _, requests = ledger_rows(lynkr_home)
    calls = [r for r in requests if r["route"] == "/v1/responses"]
    assert len(calls) >= 2 and {(r["provider"], r["model_used"]) for r in calls} == {("bedrock", BEDROCK_MODEL)}
    assert any(r["input_tokens"] == 300 and r["output_tokens"] == 5 for r in calls)


def test_codex_on_azure_openai_deployment_with_a_tool_round_trip(lynkr_home, tmp_path, project) -> None:  # noqa: F811
    agent_binary("codex")
    seen: list[str] = []

    def handle(request: Received) -> Reply:
        path, _, query = request.path.partition("?")
        if request.headers.get("api-key") != "azure-key-123456" or "authorization" in request.headers:
            return openai_error(401, "Access denied due to invalid subscription key", "invalid_api_key")
        body = request.json or {}
        if path != "/openai/responses" or query != "api-version=2025-04-01-preview" or body.get("model") != "codex-prod":
            return openai_error(404, f"DeploymentNotFound {request.path} {body.get('model')}")
        items = body.get("input") or []
        outputs = [i for i in items if isinstance(i, dict) and i.get("type") == "function_call_output"]
        turn = (Turn(text="Listed the files.", input_tokens=300, output_tokens=5) if outputs
                else Turn(tool_calls=[("exec_command", {"cmd": "ls"})], input_tokens=250))
        seen.extend(str(o.get("output")) for o in outputs)
        if body.get("stream"):
            return Reply(headers={"content-type": "text/event-stream"}, chunks=responses_stream(turn, "gpt-5-codex"))
        return Reply(headers={"content-type": "application/json"}, body=json.dumps(responses_json(turn, "gpt-5-codex")).encode())

    with FakeUpstream(handle) as upstream:
        env = codex_env(lynkr_home, tmp_path, AZURE_OPENAI_ENDPOINT=upstream.url, AZURE_OPENAI_API_KEY="azure-key-123456",
                        OPENAI_API_KEY="sk-proj-not-for-azure-0123456789")
        result = run_lynkr(["run", "--model", "azure-openai:codex-prod", "codex", "exec", "--skip-git-repo-check",
                            "list the files"], env, cwd=project)
    assert result.returncode == 0, result.stderr
    assert "Listed the files." in result.stdout
    assert any("marker-file.txt" in s for s in seen), seen
    _, requests = ledger_rows(lynkr_home)
    calls = [r for r in requests if r["route"] == "/v1/responses"]
    assert len(calls) >= 2 and {r["provider"] for r in calls} == {"azure-openai"}
    assert all(r["status"] == 200 and r["details"]["provider"]["wire"] == "openai-responses" for r in calls)
