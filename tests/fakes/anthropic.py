"""A fake Anthropic Messages API: the real SSE event sequence, JSON bodies, errors and usage."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any, Callable

from tests.fakes.server import Received, Reply

_ids = itertools.count(1)


@dataclass
class Turn:
    """One assistant reply: text and/or tool calls, with the usage the fake reports for it."""

    text: str = ""
    tool_calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (name, input)
    input_tokens: int = 100
    output_tokens: int = 20
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    model: str | None = None  # defaults to the requested model

    @property
    def stop_reason(self) -> str:
        return "tool_use" if self.tool_calls else "end_turn"


def message_json(turn: Turn, model: str) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    if turn.text:
        content.append({"type": "text", "text": turn.text})
    for name, tool_input in turn.tool_calls:
        content.append({"type": "tool_use", "id": f"toolu_{next(_ids):06d}", "name": name, "input": tool_input})
    return {
        "id": f"msg_{next(_ids):06d}",
        "type": "message",
        "role": "assistant",
        "model": turn.model or model,
        "content": content,
        "stop_reason": turn.stop_reason,
        "stop_sequence": None,
        "usage": {
            "input_tokens": turn.input_tokens,
            "cache_creation_input_tokens": turn.cache_write_tokens,
            "cache_read_input_tokens": turn.cache_read_tokens,
            "output_tokens": turn.output_tokens,
        },
    }


def sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


def stream_events(turn: Turn, model: str) -> list[bytes]:
    """The event sequence the Anthropic API sends for ``turn``, one SSE event per chunk."""
    message = message_json(turn, model)
    start = dict(message, content=[], stop_reason=None)
    start["usage"] = dict(message["usage"], output_tokens=1)
    events = [sse("message_start", {"type": "message_start", "message": start}), sse("ping", {"type": "ping"})]
    for index, block in enumerate(message["content"]):
        if block["type"] == "text":
            events.append(sse("content_block_start", {"type": "content_block_start", "index": index,
                                                      "content_block": {"type": "text", "text": ""}}))
            words = block["text"].split(" ")
            for i, word in enumerate(words):
                piece = word if i == 0 else " " + word
                events.append(sse("content_block_delta", {"type": "content_block_delta", "index": index,
                                                          "delta": {"type": "text_delta", "text": piece}}))
        else:
            events.append(sse("content_block_start", {"type": "content_block_start", "index": index,
                                                      "content_block": {"type": "tool_use", "id": block["id"],
                                                                        "name": block["name"], "input": {}}}))
            raw = json.dumps(block["input"])
            for part in (raw[: len(raw) // 2], raw[len(raw) // 2 :]):
                events.append(sse("content_block_delta", {"type": "content_block_delta", "index": index,
                                                          "delta": {"type": "input_json_delta", "partial_json": part}}))
        events.append(sse("content_block_stop", {"type": "content_block_stop", "index": index}))
    events.append(sse("message_delta", {"type": "message_delta",
                                        "delta": {"stop_reason": turn.stop_reason, "stop_sequence": None},
                                        "usage": {"output_tokens": turn.output_tokens}}))
    events.append(sse("message_stop", {"type": "message_stop"}))
    return events


def reply_for(turn: Turn, request: Received, cut_after: int | None = None) -> Reply:
    """The reply to a Messages request: SSE when it asked to stream, JSON otherwise."""
    body = request.json or {}
    model = body.get("model", "claude-sonnet-4-5")
    if body.get("stream"):
        return Reply(headers={"content-type": "text/event-stream", "request-id": "req_fake"},
                     chunks=stream_events(turn, model), cut_after=cut_after)
    return Reply(headers={"content-type": "application/json", "request-id": "req_fake"},
                 body=json.dumps(message_json(turn, model)).encode())


def error_reply(status: int, error_type: str, message: str, headers: dict[str, str] | None = None) -> Reply:
    body = json.dumps({"type": "error", "error": {"type": error_type, "message": message}}).encode()
    return Reply(status=status, headers={"content-type": "application/json", **(headers or {})}, body=body)


def last_user_text(body: dict[str, Any]) -> str:
    """The text of the last user message (string or text blocks), '' if it carries only tool results."""
    for message in reversed(body.get("messages", [])):
        if message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            return content
        texts = [b.get("text", "") for b in content or [] if b.get("type") == "text"]
        return "\n".join(texts)
    return ""


def has_tool_result(body: dict[str, Any]) -> bool:
    messages = body.get("messages") or []
    if not messages or messages[-1].get("role") != "user":
        return False
    content = messages[-1].get("content")
    return isinstance(content, list) and any(b.get("type") == "tool_result" for b in content)


def tool_results(body: dict[str, Any]) -> list[dict[str, Any]]:
    content = (body.get("messages") or [{}])[-1].get("content")
    return [b for b in content or [] if isinstance(b, dict) and b.get("type") == "tool_result"]


def messages_handler(respond: Callable[[Received, dict[str, Any]], Reply]) -> Callable[[Received], Reply]:
    """A handler that answers ``HEAD /`` and the non-Messages endpoints, and passes Messages calls
    (with their parsed body) to ``respond``."""

    def handle(request: Received) -> Reply:
        path = request.path.split("?", 1)[0]
        if path.endswith("/v1/messages") and request.method == "POST":
            return respond(request, request.json or {})
        if path.endswith("/v1/messages/count_tokens"):
            return Reply(headers={"content-type": "application/json"}, body=b'{"input_tokens": 42}')
        if path.endswith("/v1/models"):
            data = {"data": [{"type": "model", "id": "claude-sonnet-4-5", "display_name": "Claude Sonnet 4.5",
                              "created_at": "2025-09-29T00:00:00Z"}], "has_more": False,
                    "first_id": "claude-sonnet-4-5", "last_id": "claude-sonnet-4-5"}
            return Reply(headers={"content-type": "application/json"}, body=json.dumps(data).encode())
        return Reply(status=200 if request.method == "HEAD" else 404,
                     headers={"content-type": "application/json"}, body=b"{}")

    return handle
