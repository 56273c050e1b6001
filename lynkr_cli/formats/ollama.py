"""Ollama's native ``/api/chat`` <-> canonical (upstream only: no client speaks it to lynkr).

Ollama streams NDJSON, one object per line, and sends each tool call whole (no argument deltas);
its tool calls carry no ids, so lynkr gives each one (``toolu_…``) and maps results back by name.
Token counts arrive on the final line (``prompt_eval_count``, ``eval_count``).
"""

from __future__ import annotations

import json
from typing import Any, Mapping

from lynkr_cli.canonical import ModelRequest
from lynkr_cli.errors import LynkrError, UsageError
from lynkr_cli.formats.jsonio import dumps
from lynkr_cli.formats.base import (
    BlockTracker,
    Event,
    JsonEvents,
    LineBuffer,
    StreamEncoder,
    block_delta,
    new_id,
    parse_arguments,
)
from lynkr_cli.formats.openai_chat import known_counts, result_text, system_text, thinking_budget, token_count


def _images(blocks: list[dict[str, Any]]) -> list[str]:
    return [b["source"].get("data", "") for b in blocks
            if b.get("type") == "image" and (b.get("source") or {}).get("type") == "base64"]


def _messages(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    system = system_text(body.get("system"))
    if system:
        out.append({"role": "system", "content": system})
    names: dict[str, str] = {}
    for message in body.get("messages") or []:
        content = message.get("content")
        if isinstance(content, str):
            out.append({"role": message["role"], "content": content})
            continue
        blocks = content or []
        if message["role"] == "assistant":
            entry: dict[str, Any] = {"role": "assistant",
                                     "content": "".join(b.get("text", "") for b in blocks if b.get("type") == "text")}
            calls = []
            for b in blocks:
                if b.get("type") == "tool_use":
                    names[b.get("id", "")] = b.get("name", "")
                    calls.append({"function": {"name": b.get("name", ""), "arguments": b.get("input") or {}}})
            if calls:
                entry["tool_calls"] = calls
            out.append(entry)
            continue
        for b in blocks:
            if b.get("type") == "tool_result":
                out.append({"role": "tool", "content": result_text(b),
                            "tool_name": names.get(b.get("tool_use_id", ""), "")})
        text = "\n".join(b.get("text", "") for b in blocks if b.get("type") == "text")
        images = _images(blocks)
        if text or images:
            entry = {"role": "user", "content": text}
            if images:
                entry["images"] = images
            out.append(entry)
    return out


def _usage(line: dict[str, Any]) -> dict[str, int]:
    return known_counts(input_tokens=token_count(line.get("prompt_eval_count")), cache_creation_input_tokens=0,
                        cache_read_input_tokens=0, output_tokens=token_count(line.get("eval_count")))


def _stop(line: dict[str, Any], has_tools: bool) -> str:
    if has_tools:
        return "tool_use"
    return "max_tokens" if line.get("done_reason") == "length" else "end_turn"


class OllamaCodec:
    name = "ollama"
    stream_media_type = "application/x-ndjson"

    def decode_request(self, payload: dict[str, Any], raw: bytes) -> ModelRequest:
        raise UsageError("lynkr does not accept Ollama-format requests; use /v1/messages or /v1/chat/completions")

    def encode_request(self, request: ModelRequest, model: str) -> bytes:
        body = request.body
        out: dict[str, Any] = {"model": model, "messages": _messages(body), "stream": bool(body.get("stream"))}
        tools = [t for t in body.get("tools") or [] if "input_schema" in t]
        if tools:
            out["tools"] = [{"type": "function", "function": {"name": t["name"], "description": t.get("description", ""),
                                                              "parameters": t["input_schema"]}} for t in tools]
        options: dict[str, Any] = {}
        if body.get("max_tokens"):
            options["num_predict"] = body["max_tokens"]
        for key in ("temperature", "top_p", "top_k"):
            if body.get(key) is not None:
                options[key] = body[key]
        if body.get("stop_sequences"):
            options["stop"] = list(body["stop_sequences"])
        if options:
            out["options"] = options
        if thinking_budget(body):
            out["think"] = True
        return dumps(out)

    def decode_message(self, body: Any) -> dict[str, Any]:
        body = body or {}
        message = body.get("message") or {}
        content: list[dict[str, Any]] = []
        if message.get("thinking"):
            content.append({"type": "thinking", "thinking": message["thinking"], "signature": ""})
        if message.get("content"):
            content.append({"type": "text", "text": message["content"]})
        for call in message.get("tool_calls") or []:
            fn = call.get("function") or {}
            content.append({"type": "tool_use", "id": call.get("id") or new_id("toolu_"), "name": fn.get("name", ""),
                            "input": parse_arguments(fn.get("arguments"))})
        has_tools = any(b["type"] == "tool_use" for b in content)
        return {"id": new_id("msg_"), "type": "message", "role": "assistant", "model": body.get("model", ""),
                "content": content, "stop_reason": _stop(body, has_tools), "stop_sequence": None,
                "usage": _usage(body)}

    def encode_message(self, message: dict[str, Any], request: ModelRequest) -> dict[str, Any]:
        raise UsageError("lynkr does not answer in Ollama's format")

    def stream_decoder(self) -> "OllamaStreamDecoder":
        return OllamaStreamDecoder()

    def stream_encoder(self, request: ModelRequest) -> StreamEncoder:
        raise UsageError("lynkr does not answer in Ollama's format")

    def error_body(self, message: str, error_type: str) -> bytes:
        return json.dumps({"error": message}).encode()

    def error_type(self, status: int) -> str:
        return "error"  # Ollama's errors carry only a message

    def error(self, error: LynkrError) -> bytes:
        return self.error_body(f"lynkr: {error}", "error")


class OllamaStreamDecoder(JsonEvents, BlockTracker):
    """NDJSON lines -> canonical events; a tool call arrives whole and becomes a complete block."""

    def __init__(self) -> None:
        self._lines = LineBuffer()
        self._started = False
        self._tools = False
        self._done = False

    def feed(self, chunk: bytes) -> list[Event]:
        events: list[Event] = []
        for line in self._lines.feed(chunk):
            self._line(line, events)
        return events

    def finish(self) -> list[Event]:
        events: list[Event] = []
        rest = self._lines.rest()
        if rest.strip():
            self._line(rest, events)
        if not self._done:
            events.append(self._cut_error())
            self._done = True
        return events

    def _line(self, raw: bytes, events: list[Event]) -> None:
        line = self._json(raw.decode("utf-8", "replace")) if raw.strip() else None
        if self._done or not isinstance(line, dict):
            return
        if "error" in line:
            events.append({"type": "error", "error": {"type": "api_error", "message": f"ollama: {line['error']}"}})
            self._done = True
            return
        if not self._started:
            self._started = True
            events.append({"type": "message_start", "message": {
                "id": new_id("msg_"), "type": "message", "role": "assistant", "model": line.get("model", ""),
                "content": [], "stop_reason": None, "stop_sequence": None,
                "usage": {"input_tokens": 0, "output_tokens": 0}}})
        message = line.get("message") or {}
        if message.get("thinking"):
            self._open_block("thinking", {"type": "thinking", "thinking": "", "signature": ""}, events)
            events.append(block_delta(self._index, {"type": "thinking_delta", "thinking": message["thinking"]}))
        if message.get("content"):
            self._open_block("text", {"type": "text", "text": ""}, events)
            events.append(block_delta(self._index, {"type": "text_delta", "text": message["content"]}))
        for call in message.get("tool_calls") or []:
            fn = call.get("function") or {}
            self._close(events)
            self._index += 1
            self._tools = True
            events.append({"type": "content_block_start", "index": self._index, "content_block": {
                "type": "tool_use", "id": call.get("id") or new_id("toolu_"), "name": fn.get("name", ""), "input": {}}})
            arguments = parse_arguments(fn.get("arguments"))
            events.append(block_delta(self._index, {"type": "input_json_delta",
                                               "partial_json": dumps(arguments).decode()}))
            events.append({"type": "content_block_stop", "index": self._index})
        if line.get("done"):
            self._close(events)
            events.append({"type": "message_delta", "delta": {"stop_reason": _stop(line, self._tools),
                                                              "stop_sequence": None}, "usage": _usage(line)})
            events.append({"type": "message_stop"})
            self._done = True
