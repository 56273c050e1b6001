"""Small transcripts of both formats, written for the replay tests (shaped like the real ones:
Claude Code 2.1 lines with parallel tool calls split over lines, a Codex 0.1xx rollout)."""

from __future__ import annotations

import json
from pathlib import Path

SECRET = "sk-ant-api03-REALLOOKINGKEY-abcdefghijklmnopqrstuvwxyz012345"
SESSION = "5b0c2a4e-1111-4c2b-9d7e-000000000001"

# A JSON tool result the compress stage rewrites (minified), big enough to pass its floor.
ROWS = [{"path": f"src/module_{i}.py", "line": i * 7, "text": f"def handler_{i}(request):"} for i in range(40)]
JSON_OUTPUT = json.dumps(ROWS, indent=2)
FILE_TEXT = "\n".join(f"{n:>6}\u2192line {n} of the module" for n in range(1, 60))


def _line(**fields: object) -> str:
    return json.dumps({"sessionId": SESSION, "isSidechain": False, "userType": "external", "cwd": "/w",
                       "version": "2.1.197", **fields})


def _assistant(uuid: str, msg_id: str, block: dict, time: str, model: str = "claude-sonnet-4-5") -> str:
    usage = {"input_tokens": 10, "cache_read_input_tokens": 9000, "cache_creation_input_tokens": 500,
             "output_tokens": 20}
    return _line(type="assistant", uuid=uuid, timestamp=time,
                 message={"id": msg_id, "type": "message", "role": "assistant", "model": model,
                          "content": [block], "usage": usage})


def _user(uuid: str, content: object, time: str, **extra: object) -> str:
    return _line(type="user", uuid=uuid, timestamp=time, message={"role": "user", "content": content}, **extra)


def claude_lines() -> list[str]:
    """Three requests: the prompt; the two parallel tool results; a follow-up question."""
    return [
        json.dumps({"type": "file-history-snapshot", "messageId": "x", "snapshot": {}}),
        _user("u1", "find the handlers and show me the module", "2026-11-20T10:00:00.000Z"),
        _assistant("a1", "msg_1", {"type": "thinking", "thinking": "look", "signature": "sig"}, "2026-11-20T10:00:02.000Z"),
        _assistant("a2", "msg_1", {"type": "tool_use", "id": "toolu_1", "name": "Bash",
                                   "input": {"command": "rg --json handler"}}, "2026-11-20T10:00:03.000Z"),
        _user("u2", [{"type": "tool_result", "tool_use_id": "toolu_1", "content": JSON_OUTPUT}],
              "2026-11-20T10:00:04.000Z", toolUseResult={"stdout": JSON_OUTPUT}),
        _assistant("a3", "msg_1", {"type": "tool_use", "id": "toolu_2", "name": "Read",
                                   "input": {"file_path": "/w/src/module_1.py"}}, "2026-11-20T10:00:03.500Z"),
        _user("u3", [{"type": "tool_result", "tool_use_id": "toolu_2", "content": FILE_TEXT}],
              "2026-11-20T10:00:05.000Z"),
        _assistant("a4", "msg_2", {"type": "text", "text": "Found 40 handlers."}, "2026-11-20T10:00:08.000Z"),
        "{\"type\": \"user\", \"message\": {\"role\": \"user\", \"content\": \"cut off mid-line",
        _user("u4", f"thanks. my key is {SECRET}, is it in the env?", "2026-11-20T10:01:00.000Z"),
        _assistant("a5", "msg_3", {"type": "tool_use", "id": "toolu_3", "name": "Bash",
                                   "input": {"command": "env"}}, "2026-11-20T10:01:02.000Z"),
        _user("u5", [{"type": "tool_result", "tool_use_id": "toolu_3",
                      "content": f"ANTHROPIC_API_KEY={SECRET}\nHOME=/w"}], "2026-11-20T10:01:03.000Z"),
        _assistant("a6", "msg_4", {"type": "text", "text": "Yes, it is set."}, "2026-11-20T10:01:05.000Z"),
    ]


def codex_lines() -> list[str]:
    """Two requests: the prompt, then the two tool outputs."""
    def item(payload: dict, time: str) -> str:
        return json.dumps({"timestamp": time, "type": "response_item", "payload": payload})

    return [
        json.dumps({"timestamp": "2026-11-21T09:00:00Z", "type": "session_meta",
                    "payload": {"id": "019e0000-aaaa-7bbb-8ccc-000000000002", "cwd": "/w", "cli_version": "0.169.0",
                                "base_instructions": {"text": "You are Codex, a coding agent. " * 80}}}),
        json.dumps({"timestamp": "2026-11-21T09:00:00Z", "type": "turn_context",
                    "payload": {"model": "gpt-5-codex", "cwd": "/w"}}),
        item({"type": "message", "role": "user", "content": [{"type": "input_text", "text": "list the handlers"}]},
             "2026-11-21T09:00:01Z"),
        item({"type": "reasoning", "summary": [{"type": "summary_text", "text": "search first"}],
              "encrypted_content": "gAAAA"}, "2026-11-21T09:00:03Z"),
        item({"type": "function_call", "name": "exec_command", "call_id": "call_1",
              "arguments": json.dumps({"cmd": "rg --json handler"})}, "2026-11-21T09:00:03Z"),
        item({"type": "function_call", "name": "exec_command", "call_id": "call_2",
              "arguments": json.dumps({"cmd": "cat src/module_1.py"})}, "2026-11-21T09:00:03Z"),
        item({"type": "function_call_output", "call_id": "call_1", "output": JSON_OUTPUT}, "2026-11-21T09:00:04Z"),
        item({"type": "function_call_output", "call_id": "call_2", "output": FILE_TEXT}, "2026-11-21T09:00:04Z"),
        json.dumps({"timestamp": "2026-11-21T09:00:05Z", "type": "event_msg",
                    "payload": {"type": "token_count", "info": {"last_token_usage": {"input_tokens": 7000}}}}),
        item({"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "40 handlers."}]},
             "2026-11-21T09:00:06Z"),
    ]


def write(path: Path, lines: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def pi_lines() -> list[str]:
    """A pi session: the prompt, one tool call and its result, the answer."""
    def message(id_: str, parent: str | None, body: dict, time: str) -> str:
        return json.dumps({"type": "message", "id": id_, "parentId": parent, "timestamp": time, "message": body})

    return [
        json.dumps({"type": "session", "version": 3, "id": "pi-session-1", "timestamp": "2026-11-22T08:00:00Z",
                    "cwd": "/w"}),
        json.dumps({"type": "model_change", "id": "m", "parentId": None, "model": "openrouter/anthropic/claude-sonnet-4.5"}),
        json.dumps({"type": "custom_message", "customType": "volatile-project-context", "content": "<tree>src/</tree>"}),
        message("u1", "m", {"role": "user", "content": [{"type": "text", "text": "find the handlers"}]},
                "2026-11-22T08:00:01Z"),
        message("a1", "u1", {"role": "assistant", "model": "glm-5.2", "content": [
            {"type": "thinking", "thinking": "grep", "thinkingSignature": ""},
            {"type": "toolCall", "id": "call_1", "name": "bash", "arguments": {"command": "rg handler"}}]},
            "2026-11-22T08:00:03Z"),
        message("r1", "a1", {"role": "toolResult", "toolCallId": "call_1", "toolName": "bash",
                             "content": [{"type": "text", "text": JSON_OUTPUT}]}, "2026-11-22T08:00:04Z"),
        message("a2", "r1", {"role": "assistant", "model": "glm-5.2", "content": [{"type": "text", "text": "40."}]},
                "2026-11-22T08:00:06Z"),
    ]
