"""OpenAI clients: the stages' edits land in the client's own body, everything else stays as sent."""

from __future__ import annotations

import json

import toon_format

from bench.scenarios.data import grep_result
from lynkr_cli.canonical import canonical_json
from lynkr_cli.formats import codec
from lynkr_cli.pipeline.build import build_pipeline
from lynkr_cli.pipeline.config import PipelineConfig
from lynkr_cli.pipeline.patch import keep_client_format
from tests.conftest import REPO_ROOT

CODEX = sorted((REPO_ROOT / "tests" / "data" / "codex_session").glob("*.json"))


def optimize(raw: bytes, fmt: str, config: PipelineConfig | None = None):
    request = codec(fmt).decode_request(json.loads(raw), raw)
    pipeline = build_pipeline(config)
    out, reports = pipeline.run(request, pipeline.session("s"))
    return request, keep_client_format(request, out), reports


def test_codex_body_keeps_ids_developer_messages_and_every_tool():
    raw = CODEX[-1].read_bytes()
    original = json.loads(raw)
    request, out, reports = optimize(raw, "openai-responses")
    assert out is not request and out.raw is not None
    patched = json.loads(out.raw)
    assert {k: v for k, v in patched.items() if k != "input"} == {k: v for k, v in original.items() if k != "input"}
    changed = [(a, b) for a, b in zip(original["input"], patched["input"]) if a != b]
    assert changed and len(patched["input"]) == len(original["input"])
    for before, after in changed:  # only outputs changed, ids and call ids kept
        assert before["type"] == "function_call_output"
        assert {k: v for k, v in before.items() if k != "output"} == {k: v for k, v in after.items() if k != "output"}
    outputs = {item["call_id"]: item["output"] for item in patched["input"] if item["type"] == "function_call_output"}
    assert "\x1b" not in outputs["call_000007"]
    package = outputs["call_000001"]
    header, body = package.split("Output:\n", 1)
    assert header.startswith("Chunk ID:") and json.loads(body)["name"] == "my-app"  # header kept, JSON minified
    assert out.raw == canonical_json(patched)


def test_codex_session_stays_prefix_stable_in_its_own_format():
    pipeline = build_pipeline()
    state = pipeline.session("codex")
    previous = None
    for path in CODEX:
        raw = path.read_bytes()
        request = codec("openai-responses").decode_request(json.loads(raw), raw)
        out, _ = pipeline.run(request, state)
        out = keep_client_format(request, out)
        wire = out.raw if out.raw is not None else raw
        items = json.loads(wire)["input"]
        if previous is not None:
            assert items[: len(previous)] == previous
            assert canonical_json({"i": items})[:-2].startswith(canonical_json({"i": previous})[:-2])
        previous = items


def test_chat_tool_message_is_edited_in_place():
    body = {"model": "gpt-4o", "messages": [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "find todos"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "grep", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": json.dumps(grep_result(), indent=2)},
    ], "tools": [{"type": "function", "function": {"name": "grep", "parameters": {"type": "object"}}}],
        "stream": True, "stream_options": {"include_usage": True}, "user": "u-1"}
    raw = json.dumps(body).encode()
    request, out, _ = optimize(raw, "openai-chat")
    patched = json.loads(out.raw)
    assert patched["messages"][:3] == body["messages"][:3]
    assert {k: v for k, v in patched.items() if k != "messages"} == {k: v for k, v in body.items() if k != "messages"}
    assert toon_format.decode(patched["messages"][3]["content"]) == grep_result()
    assert patched["messages"][3]["tool_call_id"] == "call_1"


def test_pruned_tools_are_removed_from_the_client_body_too():
    raw = CODEX[0].read_bytes()
    original = json.loads(raw)
    config = PipelineConfig(stages={"compress": True, "prune": True})
    config.prune.drop = ["view_image"]
    config.prune.auto = False
    _, out, _ = optimize(raw, "openai-responses", config)
    patched = json.loads(out.raw)
    assert [t.get("name") for t in patched["tools"]] == [t.get("name") for t in original["tools"]
                                                        if t.get("name") != "view_image"]
    assert patched["input"] == original["input"]
