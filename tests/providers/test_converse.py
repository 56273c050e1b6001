"""Canonical <-> Bedrock Converse: golden request bodies, JSON answers, and the event stream."""

from __future__ import annotations

import json

import pytest

from lynkr_cli.errors import UsageError
from lynkr_cli.providers import converse
from lynkr_cli.providers.converse import ConverseStreamDecoder, decode_message, encode_request
from lynkr_cli.providers.eventstream import encode_message
from tests.fakes.anthropic import Turn
from tests.fakes.bedrock import converse_json, exception_frame, frame, stream_frames

CLAUDE = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
SCHEMA = {
    "type": "object",
    "properties": {
        "path": {"type": "string", "description": "Absolute path. " + "Long description. " * 40},
        "mode": {"anyOf": [{"const": "read"}, {"const": "write"}]},
    },
    "required": ["path"],
    "additionalProperties": False,
}


def agent_request() -> dict:
    """A Claude Code-like turn: cached system prompt and tools, a tool round trip, an image."""
    return {
        "model": "claude-sonnet-4-5",
        "max_tokens": 32000,
        "temperature": 1,
        "stream": True,
        "thinking": {"type": "enabled", "budget_tokens": 2048},
        "metadata": {"user_id": "{\"session\":\"x\"}"},
        "system": [{"type": "text", "text": "You are Claude Code."},
                   {"type": "text", "text": "Project rules.", "cache_control": {"type": "ephemeral"}}],
        "tools": [
            {"name": "Read", "description": "Read a file", "input_schema": SCHEMA},
            {"name": "Bash", "description": "Run a command",
             "input_schema": {"type": "object", "properties": {"command": {"type": "string"}}},
             "cache_control": {"type": "ephemeral"}},
            {"type": "web_search_20250305", "name": "web_search", "max_uses": 3},
        ],
        "tool_choice": {"type": "auto"},
        "messages": [
            {"role": "user", "content": [
                {"type": "text", "text": "What is in a.py and this picture?"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
            ]},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "Read both.", "signature": "sig-0"},
                {"type": "text", "text": "Reading."},
                {"type": "tool_use", "id": "toolu_01", "name": "Read", "input": {"path": "/a.py"}},
                {"type": "tool_use", "id": "toolu_02", "name": "Bash", "input": {"command": "ls"}},
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_01", "content": "print(1)"},
                {"type": "tool_result", "tool_use_id": "toolu_02", "is_error": True,
                 "content": [{"type": "text", "text": "ls: denied"}], "cache_control": {"type": "ephemeral"}},
            ]},
        ],
    }


def test_golden_converse_request_for_claude() -> None:
    body = encode_request(agent_request(), CLAUDE)
    assert body == {
        "messages": [
            {"role": "user", "content": [
                {"text": "What is in a.py and this picture?"},
                {"image": {"format": "png", "source": {"bytes": "iVBORw0KGgo="}}},
            ]},
            {"role": "assistant", "content": [
                {"reasoningContent": {"reasoningText": {"text": "Read both.", "signature": "sig-0"}}},
                {"text": "Reading."},
                {"toolUse": {"toolUseId": "toolu_01", "name": "Read", "input": {"path": "/a.py"}}},
                {"toolUse": {"toolUseId": "toolu_02", "name": "Bash", "input": {"command": "ls"}}},
            ]},
            {"role": "user", "content": [
                {"toolResult": {"toolUseId": "toolu_01", "content": [{"text": "print(1)"}]}},
                {"toolResult": {"toolUseId": "toolu_02", "content": [{"text": "ls: denied"}], "status": "error"}},
                {"cachePoint": {"type": "default"}},
            ]},
        ],
        "system": [{"text": "You are Claude Code."}, {"text": "Project rules."}, {"cachePoint": {"type": "default"}}],
        "inferenceConfig": {"maxTokens": 32000, "temperature": 1},
        "toolConfig": {
            "tools": [
                {"toolSpec": {"name": "Read", "description": "Read a file", "inputSchema": {"json": SCHEMA}}},
                {"toolSpec": {"name": "Bash", "description": "Run a command", "inputSchema": {"json": {
                    "type": "object", "properties": {"command": {"type": "string"}}}}}},
                {"cachePoint": {"type": "default"}},
            ],
            "toolChoice": {"auto": {}},
        },
        "additionalModelRequestFields": {"thinking": {"type": "enabled", "budget_tokens": 2048}},
    }
    # The schema is the very object given: no truncated description, anyOf/const kept.
    assert body["toolConfig"]["tools"][0]["toolSpec"]["inputSchema"]["json"] is SCHEMA


def test_non_claude_models_get_no_claude_only_fields() -> None:
    body = encode_request(agent_request(), "meta.llama3-3-70b-instruct-v1:0")
    assert "additionalModelRequestFields" not in body
    assert not any("cachePoint" in b for b in body["system"])
    assert all("reasoningContent" not in b for m in body["messages"] for b in m["content"])


def test_adaptive_thinking_is_left_out_and_top_k_kept() -> None:
    request = dict(agent_request(), thinking={"type": "adaptive"}, top_k=5, stop_sequences=["END"], top_p=0.9)
    body = encode_request(request, CLAUDE)
    assert body["additionalModelRequestFields"] == {"top_k": 5}
    assert body["inferenceConfig"] == {"maxTokens": 32000, "temperature": 1, "topP": 0.9, "stopSequences": ["END"]}


@pytest.mark.parametrize("choice, expected", [
    ({"type": "any"}, {"any": {}}),
    ({"type": "tool", "name": "Read"}, {"tool": {"name": "Read"}}),
    ({"type": "none"}, None),
])
def test_tool_choice(choice: dict, expected: dict | None) -> None:
    body = encode_request(dict(agent_request(), tool_choice=choice), CLAUDE)
    assert body["toolConfig"].get("toolChoice") == expected


def test_tool_history_without_tools_still_declares_them() -> None:
    """Converse refuses toolUse blocks unless a toolConfig is present (compaction requests send none)."""
    request = dict(agent_request())
    del request["tools"], request["tool_choice"]
    body = encode_request(request, CLAUDE)
    assert [t["toolSpec"]["name"] for t in body["toolConfig"]["tools"]] == ["Read", "Bash"]


def test_blank_text_and_string_content() -> None:
    body = encode_request({"messages": [{"role": "user", "content": "hi"},
                                        {"role": "assistant", "content": [{"type": "text", "text": ""}]}]}, CLAUDE)
    assert body["messages"][0] == {"role": "user", "content": [{"text": "hi"}]}
    assert body["messages"][1]["content"] == [{"text": "."}]


def test_image_url_is_a_clear_error() -> None:
    request = {"messages": [{"role": "user", "content": [
        {"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}}]}]}
    with pytest.raises(UsageError, match="base64"):
        encode_request(request, CLAUDE)


def test_decode_message_with_reasoning_tools_and_cache_usage() -> None:
    turn = Turn(text="Let me look.", tool_calls=[("Read", {"path": "/a"}), ("Bash", {"command": "ls"})],
                input_tokens=11, output_tokens=7, cache_read_tokens=900, cache_write_tokens=40)
    message = decode_message(converse_json(turn, reasoning="Think."), CLAUDE)
    assert message["model"] == CLAUDE and message["role"] == "assistant" and message["type"] == "message"
    assert [b["type"] for b in message["content"]] == ["thinking", "text", "tool_use", "tool_use"]
    assert message["content"][0] == {"type": "thinking", "thinking": "Think.", "signature": "sig-1"}
    assert message["content"][3]["input"] == {"command": "ls"}
    assert message["content"][2]["id"] != message["content"][3]["id"]
    assert message["stop_reason"] == "tool_use"
    assert message["usage"] == {"input_tokens": 11, "output_tokens": 7, "cache_read_input_tokens": 900,
                                "cache_creation_input_tokens": 40}


def run_stream(chunks: list[bytes], split: int | None = None) -> list[dict]:
    decoder = ConverseStreamDecoder(CLAUDE)
    data = b"".join(chunks)
    pieces = chunks if split is None else [data[i : i + split] for i in range(0, len(data), split)]
    events = [e for piece in pieces for e in decoder.feed(piece)]
    return events + decoder.finish()


def accumulate(events: list[dict]) -> dict:
    """Rebuild the message the way an Anthropic SDK does from the stream events."""
    message: dict = {}
    for event in events:
        kind = event["type"]
        if kind == "message_start":
            message = dict(event["message"], content=[])
        elif kind == "content_block_start":
            assert event["index"] == len(message["content"])
            message["content"].append(dict(event["content_block"], _json=""))
        elif kind == "content_block_delta":
            block, delta = message["content"][event["index"]], event["delta"]
            if delta["type"] == "text_delta":
                block["text"] += delta["text"]
            elif delta["type"] == "input_json_delta":
                block["_json"] += delta["partial_json"]
            elif delta["type"] == "thinking_delta":
                block["thinking"] += delta["thinking"]
            elif delta["type"] == "signature_delta":
                block["signature"] = delta["signature"]
        elif kind == "content_block_stop":
            block = message["content"][event["index"]]
            raw = block.pop("_json")
            if block["type"] == "tool_use":
                block["input"] = json.loads(raw) if raw else {}
        elif kind == "message_delta":
            message.update(event["delta"])
            message["usage"] = dict(message["usage"], **event["usage"])
        elif kind == "message_stop":
            message["_stopped"] = True
    return message


@pytest.mark.parametrize("split", [None, 1, 7, 64])
def test_stream_translates_event_by_event(split: int | None) -> None:
    turn = Turn(text="Two tools now.", tool_calls=[("Read", {"path": "/a"}), ("Bash", {"command": "ls -la"})],
                input_tokens=5, output_tokens=9, cache_read_tokens=1000, cache_write_tokens=3)
    events = run_stream(stream_frames(turn, reasoning="Plan it."), split)
    assert events[0]["type"] == "message_start" and events[-1] == {"type": "message_stop"}
    message = accumulate(events)
    assert message["_stopped"] and message["stop_reason"] == "tool_use"
    assert [b["type"] for b in message["content"]] == ["thinking", "text", "tool_use", "tool_use"]
    assert message["content"][0]["thinking"] == "Plan it." and message["content"][0]["signature"] == "sig-1"
    assert message["content"][1]["text"] == "Two tools now."
    assert [b["name"] for b in message["content"][2:]] == ["Read", "Bash"]
    assert message["content"][3]["input"] == {"command": "ls -la"}
    assert message["content"][2]["id"].startswith("tooluse_")
    assert message["usage"] == {"input_tokens": 5, "output_tokens": 9, "cache_read_input_tokens": 1000,
                                "cache_creation_input_tokens": 3}


def test_stream_emits_each_delta_as_its_frame_arrives() -> None:
    decoder = ConverseStreamDecoder(CLAUDE)
    frames = stream_frames(Turn(text="a b c"))
    assert [e["type"] for e in decoder.feed(frames[0])] == ["message_start"]
    assert [e["type"] for e in decoder.feed(frames[1])] == ["content_block_start", "content_block_delta"]
    assert [e["delta"]["text"] for e in decoder.feed(frames[2])] == [" b"]


def test_cut_stream_ends_with_an_error_event() -> None:
    frames = stream_frames(Turn(text="never finished"))
    events = run_stream(frames[:3] + [frames[3][:10]])
    assert events[-1]["type"] == "error"
    assert "ended before" in events[-1]["error"]["message"]


def test_stream_ending_after_message_stop_without_metadata_completes() -> None:
    frames = stream_frames(Turn(text="done"))
    events = run_stream(frames[:-1])
    assert [e["type"] for e in events[-2:]] == ["message_delta", "message_stop"]


def test_midstream_exception_becomes_an_anthropic_error_event() -> None:
    frames = stream_frames(Turn(text="a b"))[:2] + [exception_frame("throttlingException", "Too many tokens")]
    events = run_stream(frames)
    assert events[-1] == {"type": "error", "error": {"type": "rate_limit_error",
                          "message": "upstream bedrock: throttlingException: Too many tokens"}}
    assert sum(e["type"] == "error" for e in events) == 1


def test_corrupt_frame_stops_with_an_error() -> None:
    good = frame("messageStart", {"role": "assistant"})
    bad = bytearray(encode_message({":event-type": "contentBlockDelta", ":message-type": "event"}, b"{}"))
    bad[-1] ^= 0xFF
    events = run_stream([good, bytes(bad)])
    assert events[0]["type"] == "message_start"
    assert events[-1]["type"] == "error" and "corrupt" in events[-1]["error"]["message"]


def test_error_types_from_exception_names() -> None:
    assert converse.error_type_for("ValidationException:http://internal.amazon.com/coral/") == "invalid_request_error"
    assert converse.error_type_for("serviceUnavailableException") == "overloaded_error"
    assert converse.error_type_for("SomethingNew") == "api_error"
