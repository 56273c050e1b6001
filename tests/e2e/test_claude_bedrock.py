"""`lynkr run --model bedrock:… claude`: the real Claude Code binary to Amazon Bedrock (a fake one on loopback).

Claude Code speaks Anthropic Messages; the proxy sends Converse/ConverseStream, signed with SigV4,
and translates Bedrock's binary event stream back. The fake Bedrock rejects any request whose
signature does not verify, and runs a real tool round trip: Claude Code executes ``Bash`` and the
tool's output comes back to Bedrock as a ``toolResult`` with the id Bedrock gave the call.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import FAKE_ANTHROPIC_KEY, agent_binary, base_env, ledger_rows, run_lynkr
from tests.fakes import bedrock as fake_bedrock
from tests.fakes.anthropic import Turn
from tests.fakes.server import FakeUpstream, Received, Reply
from tests.proxy.test_cloud_providers import AWS, sigv4_valid

pytestmark = pytest.mark.e2e
MODEL = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"


def test_claude_code_tool_round_trip_on_bedrock(lynkr_home, user_home, tmp_path) -> None:
    agent_binary("claude")
    workdir = tmp_path / "project"
    workdir.mkdir()
    (workdir / "bedrock-marker.txt").write_text("x")
    tool_results: list[dict] = []
    base: list[str] = []

    def respond(request: Received, body: dict) -> Reply:
        if not sigv4_valid(request, base[0]):
            return fake_bedrock.error_reply(403, "InvalidSignatureException", "signature mismatch")
        if "toolConfig" not in body:  # Claude Code's side requests (title, checks) carry no tools
            return fake_bedrock.reply_for(Turn(text="Side answer"), request)
        last = body["messages"][-1]["content"]
        results = [b["toolResult"] for b in last if "toolResult" in b]
        if results:
            tool_results.extend(results)
            return fake_bedrock.reply_for(Turn(text="I listed the files.", input_tokens=900, output_tokens=12,
                                               cache_read_tokens=5000), request)
        return fake_bedrock.reply_for(Turn(tool_calls=[("Bash", {"command": "ls", "description": "List files"})]), request)

    with FakeUpstream(fake_bedrock.bedrock_handler(respond)) as upstream:
        base.append(upstream.url)
        aws = {k: v for k, v in AWS.items() if k != "HOME"}
        env = base_env(lynkr_home, user_home, ANTHROPIC_API_KEY=FAKE_ANTHROPIC_KEY,
                       AWS_ENDPOINT_URL_BEDROCK_RUNTIME=upstream.url, **aws)
        result = run_lynkr(["run", "--model", f"bedrock:{MODEL}", "claude", "-p", "list the files",
                            "--output-format", "json", "--allowedTools", "Bash"], env, cwd=workdir)
        received = list(upstream.received)
    assert result.returncode == 0, result.stderr + result.stdout
    assert json.loads(result.stdout)["result"] == "I listed the files."
    # The tool really ran, and its output went back under the id Bedrock gave the call.
    assert tool_results and "bedrock-marker.txt" in json.dumps(tool_results[0]["content"])
    assert tool_results[0]["toolUseId"].startswith("tooluse_")
    first_call = next(r for r in received if "toolConfig" in (r.json or {}) and not any(
        "toolResult" in b for b in r.json["messages"][-1]["content"]))
    assert first_call.path == "/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse-stream"
    converse = first_call.json
    names = [t["toolSpec"]["name"] for t in converse["toolConfig"]["tools"] if "toolSpec" in t]
    assert "Bash" in names and len(names) >= 10  # Claude Code's tools went out whole
    assert any("cachePoint" in b for b in converse["system"])  # its cache breakpoints became cachePoints
    assert "thinking" not in converse.get("additionalModelRequestFields", {})  # adaptive is not forwarded
    assert all(FAKE_ANTHROPIC_KEY not in json.dumps(r.headers) for r in received)
    # The ledger names the provider and model actually used for every request.
    _, requests = ledger_rows(lynkr_home)
    model_rows = [r for r in requests if r["route"].endswith("/v1/messages")]
    assert len(model_rows) == len(received) >= 2
    assert all(r["provider"] == "bedrock" and r["model_used"] == MODEL and r["status"] == 200 for r in model_rows)
    assert any(r["cache_read_tokens"] == 5000 for r in model_rows)
    # AWS credentials are never written down or printed.
    for secret in (AWS["AWS_SECRET_ACCESS_KEY"], "AKIDEXAMPLE"):
        assert secret not in json.dumps(requests) and secret not in result.stderr + result.stdout


def test_missing_aws_credentials_stop_before_the_agent_starts(lynkr_home, user_home) -> None:
    agent_binary("claude")
    env = base_env(lynkr_home, user_home, AWS_REGION="us-east-1")
    result = run_lynkr(["run", "--model", f"bedrock:{MODEL}", "claude", "-p", "hi"], env)
    assert result.returncode == 2
    assert "AWS_ACCESS_KEY_ID" in result.stderr and "AWS_PROFILE" in result.stderr
    assert "Traceback" not in result.stderr
