"""Golden request bodies: what each adapter sends upstream for the same rich conversation.

The conversation has a system prompt, an image, parallel tool calls with ids, their results (one an
error), thinking, a tool schema with ``anyOf``/``const``, tool_choice and stop sequences. A change
in any adapter's output shows up as a diff of a file in ``tests/fixtures/golden``; regenerate with
``LYNKR_UPDATE_GOLDEN=1`` after checking the diff is intended.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from lynkr_cli.canonical import ModelRequest
from lynkr_cli.formats import codec
from lynkr_cli.providers import resolve_provider

GOLDEN = Path(__file__).resolve().parent.parent / "fixtures" / "golden"
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
SCHEMA = {"type": "object", "properties": {
    "path": {"type": "string", "description": "File to read; a long description that must never be truncated " * 3},
    "mode": {"anyOf": [{"const": "text"}, {"const": "binary"}]}}, "required": ["path"]}

CONVERSATION = {
    "model": "client-model",
    "system": [{"type": "text", "text": "You are a coding agent.", "cache_control": {"type": "ephemeral"}}],
    "max_tokens": 2048,
    "temperature": 0.2,
    "stop_sequences": ["</done>"],
    "stream": True,
    "tools": [{"name": "read_file", "description": "Read a file", "input_schema": SCHEMA},
              {"type": "web_search_20250305", "name": "web_search"}],
    "tool_choice": {"type": "auto", "disable_parallel_tool_use": False},
    "messages": [
        {"role": "user", "content": [{"type": "text", "text": "What is in a.txt and b.txt?"},
                                     {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                                                  "data": PNG}}]},
        {"role": "assistant", "content": [
            {"type": "thinking", "thinking": "Read both.", "signature": "sig-abc"},
            {"type": "text", "text": "Reading both files."},
            {"type": "tool_use", "id": "toolu_01", "name": "read_file", "input": {"path": "a.txt"}},
            {"type": "tool_use", "id": "toolu_02", "name": "read_file", "input": {"path": "b.txt", "mode": "text"}}]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_01", "content": "alpha"},
            {"type": "tool_result", "tool_use_id": "toolu_02", "content": [{"type": "text", "text": "no such file"}],
             "is_error": True},
            {"type": "text", "text": "Summarize."}]},
    ],
}

ENV = {"ANTHROPIC_API_KEY": "sk-ant-test", "OPENAI_API_KEY": "sk-test", "OPENROUTER_API_KEY": "sk-or-test"}
CASES = {  # golden file -> (provider, inbound format)
    "anthropic_from_chat.json": ("anthropic", "openai-chat"),
    "openai_responses.json": ("openai", "anthropic"),
    "openrouter_chat.json": ("openrouter", "anthropic"),
    "ollama_chat.json": ("ollama", "anthropic"),
}


def _check(name: str, value: object) -> None:
    """Compare with the golden file; a missing one fails (written only when regenerating on purpose)."""
    path = GOLDEN / name
    if os.environ.get("LYNKR_UPDATE_GOLDEN"):
        path.write_text(json.dumps(value, indent=2, ensure_ascii=False) + "\n")
    assert path.exists(), f"golden file {path} is missing (LYNKR_UPDATE_GOLDEN=1 writes it; check it before committing)"
    assert json.loads(path.read_text()) == value, f"{name} differs from the golden file"


def test_a_missing_golden_file_fails_and_is_not_written(monkeypatch):
    monkeypatch.delenv("LYNKR_UPDATE_GOLDEN", raising=False)
    with pytest.raises(AssertionError, match="is missing"):
        _check("no_such_case.json", {"body": 1})
    assert not (GOLDEN / "no_such_case.json").exists()


@pytest.mark.parametrize("name", list(CASES))
def test_golden_upstream_bodies(name):
    provider_id, inbound = CASES[name]
    request = ModelRequest(body=CONVERSATION, inbound=inbound)
    call = resolve_provider(provider_id, ENV).build_call(request, "upstream-model", {})
    body = json.loads(call.body)
    _check(name, {"url": call.url, "headers": dict(call.headers), "body": body})


def test_same_format_pass_through_keeps_unknown_fields_and_bytes():
    raw = b'{"model":"gpt-x", "messages":[{"role":"user","content":"hi"}], "vendor_flag":{"a":1}, "seed":7}'
    request = codec("openai-chat").decode_request(json.loads(raw), raw)
    call = resolve_provider("openrouter", ENV).build_call(request, "gpt-x", {})
    assert call.body == raw
    # Re-encoded (another model), the unknown fields still go out.
    rerouted = json.loads(resolve_provider("openrouter", ENV).build_call(request, "other", {}).body)
    assert rerouted["vendor_flag"] == {"a": 1} and rerouted["seed"] == 7 and rerouted["model"] == "other"


def test_chat_and_responses_requests_decode_to_the_same_canonical_conversation():
    chat = {"model": "m", "max_tokens": 50, "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "read a"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "read_file", "arguments": '{"path":"a"}'}},
            {"id": "call_2", "type": "function", "function": {"name": "read_file", "arguments": '{"path":"b"}'}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "A"},
        {"role": "tool", "tool_call_id": "call_2", "content": "B"}],
        "tools": [{"type": "function", "function": {"name": "read_file", "parameters": SCHEMA}}]}
    responses = {"model": "m", "max_output_tokens": 50, "instructions": "Be brief.", "input": [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "read a"}]},
        {"type": "function_call", "call_id": "call_1", "name": "read_file", "arguments": '{"path":"a"}'},
        {"type": "function_call", "call_id": "call_2", "name": "read_file", "arguments": '{"path":"b"}'},
        {"type": "function_call_output", "call_id": "call_1", "output": "A"},
        {"type": "function_call_output", "call_id": "call_2", "output": "B"}],
        "tools": [{"type": "function", "name": "read_file", "parameters": SCHEMA}]}
    a = codec("openai-chat").decode_request(chat, b"").body
    b = codec("openai-responses").decode_request(responses, b"").body
    assert a == b
    _check("canonical_from_openai.json", dict(a))


def test_openai_reasoning_effort_does_not_turn_on_anthropic_thinking():
    """Anthropic needs its signed thinking blocks back in a tool loop; an OpenAI client cannot send them."""
    payload = {"model": "m", "input": "hi", "reasoning": {"effort": "high", "summary": "auto"}, "max_output_tokens": 99}
    request = codec("openai-responses").decode_request(payload, b"")
    body = json.loads(resolve_provider("anthropic", ENV).build_call(request, "claude-x", {}).body)
    assert "thinking" not in body and body["max_tokens"] == 99


def test_image_tool_results_reach_openai_formats():
    """Claude Code's Read on a screenshot returns an image inside a tool result."""
    shot = {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_9", "content": [
        {"type": "text", "text": "screenshot.png"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}}]}]}
    call = {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_9", "name": "Read", "input": {}}]}
    request = ModelRequest(body={"model": "m", "messages": [{"role": "user", "content": "look"}, call, shot]})
    responses = json.loads(resolve_provider("openai", ENV).build_call(request, "m", {}).body)
    output = responses["input"][-1]["output"]
    assert output[0] == {"type": "input_text", "text": "screenshot.png"}
    assert output[1]["image_url"].startswith("data:image/png;base64,")
    chat = json.loads(resolve_provider("openrouter", ENV).build_call(request, "m", {}).body)
    assert chat["messages"][-2] == {"role": "tool", "tool_call_id": "toolu_9", "content": "screenshot.png\n[image]"}
    assert chat["messages"][-1]["content"][0]["type"] == "image_url"


def test_codex_namespace_tools_are_callable_on_other_providers():
    tools = [{"type": "function", "name": "exec_command", "parameters": {"type": "object", "properties": {}}},
             {"type": "namespace", "name": "multi_agent_v1", "description": "sub-agents", "tools": [
                 {"type": "function", "name": "spawn_agent", "parameters": {"type": "object", "properties": {}}}]},
             {"type": "web_search"}]
    request = codec("openai-responses").decode_request({"model": "m", "input": "hi", "tools": tools}, b"")
    assert [t["name"] for t in request.body["tools"]] == ["exec_command", "spawn_agent"]
    message = {"id": "msg_1", "model": "m", "stop_reason": "tool_use", "usage": {},
               "content": [{"type": "tool_use", "id": "toolu_1", "name": "spawn_agent", "input": {}}]}
    (item,) = codec("openai-responses").encode_message(message, request)["output"]
    assert item["namespace"] == "multi_agent_v1" and item["name"] == "spawn_agent"
    from lynkr_cli.formats.events import message_events

    encoder = codec("openai-responses").stream_encoder(request)
    streamed = b"".join(encoder.encode(e) for e in message_events(message)).decode()
    assert '"namespace":"multi_agent_v1"' in streamed
    anthropic_body = json.loads(resolve_provider("anthropic", ENV).build_call(request, "claude-x", {}).body)
    assert "_namespaces" not in anthropic_body
