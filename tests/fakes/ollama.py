"""A fake Ollama server: native ``/api/chat`` with NDJSON streaming, as Ollama sends it."""

from __future__ import annotations

import json
from typing import Any, Callable

from tests.fakes.anthropic import Turn
from tests.fakes.server import Received, Reply


def _line(data: dict[str, Any]) -> bytes:
    return json.dumps(data).encode() + b"\n"


def _final(turn: Turn, model: str, message: dict[str, Any]) -> dict[str, Any]:
    return {"model": turn.model or model, "created_at": "2025-01-01T00:00:00Z", "message": message, "done": True,
            "done_reason": "stop", "total_duration": 1000, "prompt_eval_count": turn.input_tokens,
            "eval_count": turn.output_tokens}


def _tool_calls(turn: Turn) -> list[dict[str, Any]]:
    return [{"function": {"name": name, "arguments": args}} for name, args in turn.tool_calls]


def chat_json(turn: Turn, model: str) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": turn.text}
    if turn.tool_calls:
        message["tool_calls"] = _tool_calls(turn)
    return _final(turn, model, message)


def chat_stream(turn: Turn, model: str) -> list[bytes]:
    model = turn.model or model
    out = []
    for i, word in enumerate(turn.text.split(" ") if turn.text else []):
        out.append(_line({"model": model, "created_at": "2025-01-01T00:00:00Z", "done": False,
                          "message": {"role": "assistant", "content": word if i == 0 else " " + word}}))
    if turn.tool_calls:
        out.append(_line({"model": model, "created_at": "2025-01-01T00:00:00Z", "done": False,
                          "message": {"role": "assistant", "content": "", "tool_calls": _tool_calls(turn)}}))
    out.append(_line(_final(turn, model, {"role": "assistant", "content": ""})))
    return out


def ollama_handler(respond: Callable[[Received, dict[str, Any]], Turn | Reply]) -> Callable[[Received], Reply]:
    def handle(request: Received) -> Reply:
        path = request.path.split("?", 1)[0]
        if path == "/api/tags":
            return Reply(headers={"content-type": "application/json"},
                         body=b'{"models":[{"name":"qwen2.5-coder:7b","model":"qwen2.5-coder:7b"}]}')
        if path != "/api/chat" or request.method != "POST":
            return Reply(status=404, headers={"content-type": "text/plain"}, body=b"404 page not found")
        body = request.json or {}
        turn = respond(request, body)
        if isinstance(turn, Reply):
            return turn
        model = body.get("model", "qwen")
        if body.get("stream", True):
            return Reply(headers={"content-type": "application/x-ndjson"}, chunks=chat_stream(turn, model))
        return Reply(headers={"content-type": "application/json"}, body=json.dumps(chat_json(turn, model)).encode())

    return handle
