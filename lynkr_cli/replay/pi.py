"""pi (the coding agent of ``@mariozechner/pi-coding-agent``) session files -> the requests it sent.

A line of ``type`` ``message`` holds one message: ``user``, ``assistant`` (text, thinking and
``toolCall`` blocks) or ``toolResult`` (the output of one call); ``custom_message`` lines are context
pi adds as user messages; ``model_change`` names the model. Each assistant message is one answer to
one request holding every message before it. They are rebuilt in the canonical (Anthropic) shape: pi
speaks whichever API its provider does, and the tool loop means the same there.

pi's system prompt and tool list are not in its session files and are left out, which is reported:
every request is short of them by the same amount, on both sides of the comparison.
"""

from __future__ import annotations

from typing import Any

from lynkr_cli.replay.claude import BREAKPOINT, parse_time
from lynkr_cli.replay.session import RebuiltRequest, ReplaySession
from lynkr_cli.replay.transcripts import Lines

NOTE = "pi: its system prompt and tool list are not in its session files and are left out"


def _block(block: Any) -> dict[str, Any] | None:
    if not isinstance(block, dict):
        return None
    kind = block.get("type")
    if kind == "text":
        return {"type": "text", "text": str(block.get("text", ""))}
    if kind == "thinking":
        return {"type": "thinking", "thinking": str(block.get("thinking", "")),
                "signature": str(block.get("thinkingSignature") or "")}
    if kind == "toolCall":
        arguments = block.get("arguments")
        return {"type": "tool_use", "id": str(block.get("id", "")), "name": str(block.get("name", "")),
                "input": arguments if isinstance(arguments, dict) else {"arguments": arguments}}
    if kind == "image":
        return {"type": "image", "source": {"type": "base64", "media_type": str(block.get("mimeType", "image/png")),
                                            "data": str(block.get("data", ""))}}
    return None


def _content(message: dict[str, Any]) -> list[dict[str, Any]]:
    content = message.get("content")
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    return [b for b in (_block(x) for x in content or []) if b is not None]


def read_pi(lines: Lines) -> ReplaySession:
    session = ReplaySession(path=str(lines.path), agent="pi", session_id=lines.path.stem,
                            warnings=list(lines.warnings), approximations=[NOTE])
    messages: list[dict[str, Any]] = []
    model = "unknown"
    user_typed = False

    def add(role: str, blocks: list[dict[str, Any]]) -> None:
        if not blocks:
            return
        if messages and messages[-1]["role"] == role:
            messages[-1] = {"role": role, "content": messages[-1]["content"] + blocks}
        else:
            messages.append({"role": role, "content": blocks})

    for _, record in lines.records:
        kind = record.get("type")
        if kind == "session":
            session.session_id = str(record.get("id") or session.session_id)
        elif kind == "model_change" and isinstance(record.get("model"), str):
            model = record["model"]
        elif kind == "custom_message" and isinstance(record.get("content"), str):
            add("user", [{"type": "text", "text": record["content"]}])
        elif kind == "message" and isinstance(record.get("message"), dict):
            message = record["message"]
            role = message.get("role")
            if role == "user":
                add("user", _content(message))
                user_typed = True
            elif role == "toolResult":
                add("user", [{"type": "tool_result", "tool_use_id": str(message.get("toolCallId", "")),
                              "content": _content(message), **({"is_error": True} if message.get("isError") else {})}])
            elif role == "assistant":
                if messages and messages[-1]["role"] == "user":
                    session.requests.append(RebuiltRequest(
                        payload={"model": str(message.get("model") or model), "max_tokens": 32000, "stream": True,
                                 "messages": _with_breakpoint(messages)},
                        inbound="anthropic", timestamp=parse_time(record.get("timestamp")), user_turn=user_typed))
                    user_typed = False
                    usage = message.get("usage")
                    if isinstance(usage, dict):
                        session.recorded_input_tokens += sum(int(usage.get(k) or 0)
                                                             for k in ("input", "cacheRead", "cacheWrite"))
                blocks = _content(message)
                session.tools_used.update(b["name"] for b in blocks if b["type"] == "tool_use")
                add("assistant", blocks)
    return session


def _with_breakpoint(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    last = messages[-1]
    return [*messages[:-1], {**last, "content": [*last["content"][:-1], {**last["content"][-1],
                                                                          "cache_control": BREAKPOINT}]}]
