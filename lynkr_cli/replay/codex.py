"""Codex rollouts -> the OpenAI Responses requests Codex sent.

A rollout line of ``type`` ``response_item`` holds one item of the conversation exactly as it goes
into the next request's ``input`` (messages, reasoning, function calls and their outputs). Codex
sends the whole list each time, so every run of model-side items (reasoning, assistant message,
tool call) that follows a client-side item (user or developer message, tool output) marks one
request, whose ``input`` is every item before it. ``turn_context`` carries the model in use;
``session_meta`` the base instructions, which Codex sends as the first ``developer`` message. The tool list is not recorded and is filled in from the
pinned Codex (``prefix.py``).
"""

from __future__ import annotations

from typing import Any

from lynkr_cli.replay.claude import parse_time
from lynkr_cli.replay.prefix import CODEX_NOTE, codex_prefix
from lynkr_cli.replay.session import RebuiltRequest, ReplaySession
from lynkr_cli.replay.transcripts import Lines

MODEL_SIDE = {"reasoning", "function_call", "custom_tool_call", "local_shell_call", "web_search_call",
              "tool_search_call", "image_generation_call"}
DEFAULT_MODEL = "gpt-5-codex"


def _model_side(item: dict[str, Any]) -> bool:
    kind = item.get("type", "message")
    return kind in MODEL_SIDE or (kind == "message" and item.get("role") == "assistant")


def read_codex(lines: Lines) -> ReplaySession:
    """The requests of one Codex rollout (see the module docstring)."""
    prefix = codex_prefix()
    session = ReplaySession(path=str(lines.path), agent="codex", session_id=lines.path.stem,
                            warnings=list(lines.warnings))
    session.approximations.append(CODEX_NOTE.format(version=prefix["version"]))
    instructions: str = prefix["instructions"]
    model = DEFAULT_MODEL
    items: list[dict[str, Any]] = []
    answering = False
    user_typed = False
    developer: dict[str, Any] | None = None
    for _, record in lines.records:
        kind, payload = record.get("type"), record.get("payload")
        if not isinstance(payload, dict):
            continue
        if kind == "session_meta":
            session.session_id = str(payload.get("id") or payload.get("session_id") or session.session_id)
            base = payload.get("base_instructions")
            text = base.get("text") if isinstance(base, dict) else base
            if isinstance(text, str) and text:
                instructions = text
            continue
        if kind == "turn_context":
            model = str(payload.get("model") or model)
            continue
        if kind == "event_msg" and payload.get("type") == "token_count":
            session.recorded_input_tokens += _recorded(payload.get("info"))
            continue
        if kind != "response_item":
            continue
        if any(key.startswith("internal_") for key in payload):  # local metadata Codex does not send
            payload = {k: v for k, v in payload.items() if not k.startswith("internal_")}
        if _model_side(payload):
            if not answering and items:
                if developer is None or developer["content"][0]["text"] != instructions:
                    developer = _developer(instructions)
                session.requests.append(RebuiltRequest(
                    payload=_request(prefix, model, developer, items, session.session_id),
                    inbound="openai-responses", timestamp=parse_time(record.get("timestamp")), user_turn=user_typed))
                user_typed = False
            answering = True
            name = payload.get("name")
            if isinstance(name, str) and payload.get("type") in ("function_call", "custom_tool_call"):
                session.tools_used.add(name)
        else:
            answering = False
            if payload.get("type", "message") == "message" and payload.get("role") == "user":
                user_typed = True
        items.append(payload)
    return session


def _developer(text: str) -> dict[str, Any]:
    """The base instructions as Codex sends them: the first ``developer`` message of ``input`` (the
    rollout records them in ``session_meta``, not as an item); one object per session."""
    return {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": text}]}


def _recorded(info: Any) -> int:
    """Input tokens of the request just answered, as Codex recorded them (``last_token_usage``)."""
    last = info.get("last_token_usage") if isinstance(info, dict) else None
    return int(last.get("input_tokens") or 0) if isinstance(last, dict) else 0


def _request(prefix: dict[str, Any], model: str, instructions: dict[str, Any], items: list[dict[str, Any]],
             session_id: str) -> dict[str, Any]:
    body: dict[str, Any] = {"model": model, "input": [instructions, *items],
                            "tools": prefix["tools"], "tool_choice": "auto", "parallel_tool_calls": False,
                            "store": False, "stream": True, "prompt_cache_key": session_id}
    if prefix.get("reasoning"):
        body["reasoning"] = prefix["reasoning"]
    if prefix.get("include"):
        body["include"] = prefix["include"]
    return body
