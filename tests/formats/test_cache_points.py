"""OpenAI-format clients sent to Anthropic get the cache breakpoints a native client sends."""

from __future__ import annotations

import json

from lynkr_cli.formats import codec
from lynkr_cli.formats.cache_points import with_breakpoints

TOOLS = [{"type": "function", "name": "exec_command", "description": "run a command",
          "parameters": {"type": "object", "properties": {"cmd": {"type": "string"}}}}]


def responses_body(turns: int) -> dict:
    items: list[dict] = [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "fix the test"}]}]
    for n in range(turns):
        items.append({"type": "function_call", "call_id": f"c{n}", "name": "exec_command",
                      "arguments": json.dumps({"cmd": f"pytest -k t{n}"})})
        items.append({"type": "function_call_output", "call_id": f"c{n}", "output": f"{n} passed"})
    return {"model": "gpt-5-codex", "instructions": "You are Codex.", "input": items, "tools": TOOLS, "stream": True}


def marked(body: dict) -> list[str]:
    """Where the breakpoints are: tools, system, and (index, block type) in messages."""
    where = [f"tool:{t['name']}" for t in body.get("tools", []) if "cache_control" in t]
    where += ["system" for b in body.get("system", []) if "cache_control" in b]
    where += [f"message {i}:{b['type']}" for i, m in enumerate(body["messages"]) if isinstance(m["content"], list)
              for b in m["content"] if "cache_control" in b]
    return where


def translated(payload: dict) -> dict:
    request = codec("openai-responses").decode_request(payload, json.dumps(payload).encode())
    return json.loads(codec("anthropic").encode_request(request, "claude-sonnet-4-5"))


def test_codex_request_to_anthropic_carries_four_breakpoints() -> None:
    body = translated(responses_body(3))
    assert marked(body) == ["tool:exec_command", "system", "message 4:tool_result", "message 6:tool_result"]
    assert sum(1 for _ in marked(body)) <= 4  # Anthropic's limit


def test_breakpoints_do_not_change_the_prefix_the_next_turn_reads() -> None:
    def strip(value: object) -> object:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k != "cache_control"}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    turn2, turn3 = strip(translated(responses_body(2))), strip(translated(responses_body(3)))
    assert turn3["messages"][:len(turn2["messages"])] == turn2["messages"]  # type: ignore[index]
    assert turn3["system"] == turn2["system"] and turn3["tools"] == turn2["tools"]  # type: ignore[index]


def test_a_client_that_marks_its_own_prompt_is_left_alone() -> None:
    body = {"model": "m", "system": [{"type": "text", "text": "s", "cache_control": {"type": "ephemeral"}}],
            "messages": [{"role": "user", "content": "hi"}]}
    assert with_breakpoints(body) == body
    plain = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    assert with_breakpoints(plain)["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "hi", "cache_control": {"type": "ephemeral"}}]}]


def test_bedrock_gets_cache_points_for_openai_clients() -> None:
    from lynkr_cli.providers.base import resolve_provider

    env = {"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret-example", "AWS_REGION": "eu-central-1",
           "HOME": "/nonexistent"}
    provider = resolve_provider("bedrock", env)
    request = codec("openai-responses").decode_request(responses_body(1), b"{}")
    converse = json.loads(provider.encode_body(request, "eu.anthropic.claude-sonnet-4-5-20250929-v1:0", "bedrock"))
    point = {"cachePoint": {"type": "default"}}
    assert point in converse["system"] and point in converse["messages"][-1]["content"]
    assert point in converse["toolConfig"]["tools"]
