"""Transcripts rebuilt into the requests the agent sent."""

from __future__ import annotations

from pathlib import Path

from lynkr_cli.replay.load import load_session
from tests.replay.transcripts import FILE_TEXT, JSON_OUTPUT, SESSION, claude_lines, codex_lines, write


def test_claude_transcript_becomes_one_request_per_answer(tmp_path: Path) -> None:
    path = write(tmp_path / "s.jsonl", claude_lines())
    warnings: list[str] = []
    session = load_session(path, warnings.append)
    assert session.agent == "claude" and session.session_id == SESSION
    assert len(session.requests) == 4
    assert warnings == [f"{path}:9: not valid JSON (at column 74); line skipped, "
                        "the rest of the file is replayed"]
    first, second, third, fourth = (r.payload for r in session.requests)
    assert [r.user_turn for r in session.requests] == [True, False, True, False]
    assert first["model"] == "claude-sonnet-4-5" and first["tools"] and first["system"]
    # What Claude Code adds and does not write down: the dated reminder, then its system-role message.
    head = first["messages"][0]["content"]
    assert "Today's date is 2026-11-20." in head[0]["text"]
    assert head[-1] == {"type": "text", "text": "find the handlers and show me the module",
                        "cache_control": {"type": "ephemeral"}}
    assert [m["role"] for m in first["messages"]] == ["user", "system"]
    # The answer split over three lines is one assistant message; its two results are one user message.
    assistant, results = second["messages"][2], second["messages"][3]
    assert [b["type"] for b in assistant["content"]] == ["thinking", "tool_use", "tool_use"]
    assert [b["tool_use_id"] for b in results["content"]] == ["toolu_1", "toolu_2"]
    assert results["content"][0]["content"] == JSON_OUTPUT and results["content"][1]["content"] == FILE_TEXT
    assert results["content"][1]["cache_control"] == {"type": "ephemeral"}
    # Later requests extend the earlier ones: the history is sent again as it was.
    assert third["messages"][:3] == second["messages"][:3]
    assert len(fourth["messages"]) == 8
    assert session.tools_used == {"Bash", "Read"}
    assert session.recorded_input_tokens == 4 * 9510


def test_codex_rollout_becomes_one_request_per_model_turn(tmp_path: Path) -> None:
    session = load_session(write(tmp_path / "rollout.jsonl", codex_lines()))
    assert session.agent == "codex" and session.session_id == "019e0000-aaaa-7bbb-8ccc-000000000002"
    assert len(session.requests) == 2
    first, second = (r.payload for r in session.requests)
    assert first["model"] == "gpt-5-codex"
    # The base instructions go first, as a developer message (Codex sends them so; one object per session).
    assert first["input"][0]["role"] == "developer" and first["input"][0]["content"][0]["text"].startswith("You are Codex")
    assert second["input"][0] is first["input"][0]
    assert [i["type"] for i in first["input"][1:]] == ["message"]
    assert [i["type"] for i in second["input"][1:]] == ["message", "reasoning", "function_call", "function_call",
                                                        "function_call_output", "function_call_output"]
    assert first["tools"] and second["prompt_cache_key"] == session.session_id
    assert session.tools_used == {"exec_command"}
    assert session.recorded_input_tokens == 7000


def test_a_file_of_another_format_is_one_warning(tmp_path: Path) -> None:
    path = write(tmp_path / "other.jsonl", ['{"level": "info", "message": "hello"}'])
    warnings: list[str] = []
    session = load_session(path, warnings.append)
    assert session.requests == [] and warnings == [f"{path}: not a Claude Code, Codex or pi session file; skipped"]


def test_pi_session_becomes_one_request_per_answer(tmp_path: Path) -> None:
    from tests.replay.transcripts import pi_lines

    session = load_session(write(tmp_path / "pi.jsonl", pi_lines()))
    assert session.agent == "pi" and session.session_id == "pi-session-1"
    assert [r.payload["model"] for r in session.requests] == ["glm-5.2", "glm-5.2"]
    first, second = (r.payload["messages"] for r in session.requests)
    assert [b["text"] for b in first[0]["content"]] == ["<tree>src/</tree>", "find the handlers"]
    assert second[1]["content"][1] == {"type": "tool_use", "id": "call_1", "name": "bash",
                                       "input": {"command": "rg handler"}}
    assert second[2]["content"] == [{"type": "tool_result", "tool_use_id": "call_1",
                                     "content": [{"type": "text", "text": JSON_OUTPUT}],
                                     "cache_control": {"type": "ephemeral"}}]
    assert session.tools_used == {"bash"}
    assert session.approximations == ["pi: its system prompt and tool list are not in its session files and are left out"]


def test_a_sub_agent_file_is_replayed_and_inline_side_chains_are_not(tmp_path: Path) -> None:
    import json

    lines = claude_lines()
    side = [json.dumps({**json.loads(line), "isSidechain": True}) if line.startswith("{\"sessionId\"") else line
            for line in lines if not line.startswith("{\"type\": \"user\", \"message\": {\"role\": \"user\", \"content\": \"cut")]
    sub = load_session(write(tmp_path / "s" / "subagents" / "agent-a1.jsonl", side))
    assert len(sub.requests) == 4  # a sub-agent's own file: every line is side-chain, all replayed
    mixed = load_session(write(tmp_path / "main.jsonl", lines[:8] + side[8:]))
    assert len(mixed.requests) == 2  # the main conversation only
