"""OpenAI Chat Completions <-> canonical, requests, answers and SSE streams.

Mapping notes (the non-obvious ones):
- ``system``/``developer`` messages become the canonical system prompt; ``tool`` messages become
  ``tool_result`` blocks of a user turn (consecutive ones merged, as Anthropic requires alternation).
- Tool definitions keep their whole JSON Schema (``parameters`` <-> ``input_schema``), untouched.
- Tool call ids pass through both ways, so parallel calls and their results stay paired.
- ``reasoning_content`` (DeepSeek, vLLM, OpenRouter's ``reasoning``) <-> thinking blocks.
- Usage: OpenAI's ``prompt_tokens`` include cached ones; Anthropic's ``input_tokens`` exclude them.
"""

from __future__ import annotations

import time
from typing import Any, Mapping

from lynkr_cli.canonical import ModelRequest
from lynkr_cli.errors import LynkrError, openai_error_body
from lynkr_cli.formats.jsonio import dumps
from lynkr_cli.formats.base import (
    STOP_FROM_OPENAI,
    STOP_TO_OPENAI,
    BlockTracker,
    Event,
    SSEDecoder,
    block_delta,
    new_id,
    parse_arguments,
    sse_event,
    text_of,
)
from lynkr_cli.formats.errors import error_detail, openai_type

_REQUEST_KEYS = {"model", "messages", "tools", "tool_choice", "max_tokens", "max_completion_tokens", "temperature",
                 "top_p", "stop", "stream", "parallel_tool_calls", "reasoning_effort"}
EFFORT_BUDGET = {"minimal": 1024, "low": 2048, "medium": 8192, "high": 24576}


# -- requests ------------------------------------------------------------------------------------
def image_block(url: str) -> dict[str, Any]:
    """An OpenAI image URL (``data:`` or http) as a canonical image block."""
    if url.startswith("data:") and ";base64," in url:
        head, data = url[5:].split(";base64,", 1)
        return {"type": "image", "source": {"type": "base64", "media_type": head or "image/png", "data": data}}
    return {"type": "image", "source": {"type": "url", "url": url}}


def image_url(block: dict[str, Any]) -> str:
    source = block.get("source") or {}
    if source.get("type") == "base64":
        return f"data:{source.get('media_type', 'image/png')};base64,{source.get('data', '')}"
    return str(source.get("url", ""))


def _user_blocks(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    blocks: list[dict[str, Any]] = []
    for part in content or []:
        kind = part.get("type")
        if kind == "text":
            blocks.append({"type": "text", "text": part.get("text", "")})
        elif kind == "image_url":
            url = part.get("image_url")
            blocks.append(image_block(url.get("url", "") if isinstance(url, dict) else str(url)))
    return blocks


def append_message(messages: list[dict[str, Any]], role: str, blocks: list[dict[str, Any]]) -> None:
    """Add blocks as a turn of ``role``, merged into the previous turn if it has the same role."""
    if not blocks:
        return
    if messages and messages[-1]["role"] == role:
        messages[-1]["content"].extend(blocks)
    else:
        messages.append({"role": role, "content": blocks})


def tools_to_canonical(tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for tool in tools or []:
        fn = tool.get("function") if tool.get("type") == "function" else None
        if fn is None:
            continue
        entry: dict[str, Any] = {"name": fn.get("name", "")}
        if fn.get("description"):
            entry["description"] = fn["description"]
        entry["input_schema"] = fn.get("parameters") or {"type": "object", "properties": {}}
        out.append(entry)
    return out


def tool_choice_to_canonical(choice: Any, parallel: Any) -> dict[str, Any] | None:
    result: dict[str, Any] | None
    if choice == "none":
        result = {"type": "none"}
    elif choice == "required":
        result = {"type": "any"}
    elif isinstance(choice, dict) and (choice.get("function") or choice.get("name")):
        result = {"type": "tool", "name": (choice.get("function") or choice)["name"]}
    elif choice == "auto" or parallel is False:
        result = {"type": "auto"}
    else:
        result = None
    if result is not None and parallel is False and result["type"] != "none":
        result["disable_parallel_tool_use"] = True
    return result


def tool_choice_from_canonical(choice: dict[str, Any] | None) -> tuple[Any, bool | None]:
    """(tool_choice, parallel_tool_calls) for OpenAI formats; None where nothing was set."""
    if not choice:
        return None, None
    parallel = False if choice.get("disable_parallel_tool_use") else None
    kind = choice.get("type")
    if kind == "none":
        return "none", parallel
    if kind == "any":
        return "required", parallel
    if kind == "tool":
        return {"type": "function", "function": {"name": choice.get("name")}}, parallel
    return "auto", parallel


def system_text(system: Any) -> str:
    return system if isinstance(system, str) else text_of(system)


def tool_result_text(content: Any) -> str:
    if isinstance(content, list):
        parts = [b.get("text", "") if b.get("type") == "text" else "[image]" for b in content if isinstance(b, dict)]
        return "\n".join(parts)
    return content if isinstance(content, str) else ""


def result_text(block: dict[str, Any]) -> str:
    """A tool result as the text OpenAI-style formats carry; an error result says so (no flag there)."""
    text = tool_result_text(block.get("content"))
    return f"Error: {text}" if block.get("is_error") else text


def _tool_result_images(content: Any) -> list[dict[str, Any]]:
    return [b for b in content if isinstance(b, dict) and b.get("type") == "image"] if isinstance(content, list) else []


def thinking_budget(body: Mapping[str, Any]) -> int | None:
    thinking = body.get("thinking") or {}
    if thinking.get("type") == "enabled":
        return int(thinking.get("budget_tokens") or 0) or None
    return None


def effort_for(budget: int | None) -> str | None:
    if budget is None:
        return None
    return "low" if budget <= 2048 else "medium" if budget <= 8192 else "high"


class ChatCodec:
    name = "openai-chat"
    stream_media_type = "text/event-stream"

    # -- client -> canonical ------------------------------------------------------------------
    def decode_request(self, payload: dict[str, Any], raw: bytes) -> ModelRequest:
        system: list[str] = []
        messages: list[dict[str, Any]] = []
        for message in payload.get("messages") or []:
            role = message.get("role")
            content = message.get("content")
            if role in ("system", "developer"):
                system.append(text_of(content))
            elif role == "user":
                append_message(messages, "user", _user_blocks(content))
            elif role == "tool":
                append_message(messages, "user", [{"type": "tool_result", "tool_use_id": message.get("tool_call_id", ""),
                                                   "content": text_of(content)}])
            elif role == "assistant":
                blocks: list[dict[str, Any]] = []
                reasoning = message.get("reasoning_content") or message.get("reasoning")
                if isinstance(reasoning, str) and reasoning:
                    blocks.append({"type": "thinking", "thinking": reasoning, "signature": ""})
                text = text_of(content)
                if text:
                    blocks.append({"type": "text", "text": text})
                for call in message.get("tool_calls") or []:
                    fn = call.get("function") or {}
                    blocks.append({"type": "tool_use", "id": call.get("id") or new_id("call_"),
                                   "name": fn.get("name", ""), "input": parse_arguments(fn.get("arguments"))})
                append_message(messages, "assistant", blocks or [{"type": "text", "text": ""}])
        body: dict[str, Any] = {"model": payload.get("model")}
        if system:
            body["system"] = "\n\n".join(system)
        body["messages"] = messages
        max_tokens = payload.get("max_completion_tokens") or payload.get("max_tokens")
        if max_tokens:
            body["max_tokens"] = max_tokens
        for key in ("temperature", "top_p"):
            if payload.get(key) is not None:
                body[key] = payload[key]
        stop = payload.get("stop")
        if stop:
            body["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
        if payload.get("tools"):
            body["tools"] = tools_to_canonical(payload["tools"])
        choice = tool_choice_to_canonical(payload.get("tool_choice"), payload.get("parallel_tool_calls"))
        if choice and body.get("tools"):
            body["tool_choice"] = choice
        effort = payload.get("reasoning_effort")
        if effort in EFFORT_BUDGET:
            body["thinking"] = {"type": "enabled", "budget_tokens": EFFORT_BUDGET[effort]}
        if payload.get("stream"):
            body["stream"] = True
        extras = {k: v for k, v in payload.items() if k not in _REQUEST_KEYS}
        if "max_completion_tokens" in payload:
            extras["_max_tokens_field"] = "max_completion_tokens"
        return ModelRequest(body=body, inbound="openai-chat", raw=raw, extras=extras)

    # -- canonical -> upstream ----------------------------------------------------------------
    def encode_request(self, request: ModelRequest, model: str) -> bytes:
        if request.inbound == "openai-chat" and request.raw is not None and model == request.model:
            return request.raw
        body = request.body
        messages: list[dict[str, Any]] = []
        system = system_text(body.get("system"))
        if system:
            messages.append({"role": "system", "content": system})
        for message in body.get("messages") or []:
            messages.extend(_chat_messages(message))
        out: dict[str, Any] = {"model": model, "messages": messages}
        same = request.inbound == "openai-chat"
        if body.get("max_tokens"):
            out[str(request.extras.get("_max_tokens_field", "max_tokens")) if same else "max_tokens"] = body["max_tokens"]
        for key in ("temperature", "top_p"):
            if body.get(key) is not None:
                out[key] = body[key]
        if body.get("stop_sequences"):
            out["stop"] = list(body["stop_sequences"])
        tools = [t for t in body.get("tools") or [] if "input_schema" in t]
        if tools:
            out["tools"] = [{"type": "function", "function": _function(t)} for t in tools]
            choice, parallel = tool_choice_from_canonical(body.get("tool_choice"))
            if choice is not None:
                out["tool_choice"] = choice
            if parallel is not None:
                out["parallel_tool_calls"] = parallel
        effort = effort_for(thinking_budget(body))
        if effort and same:
            out["reasoning_effort"] = effort
        if body.get("stream"):
            out["stream"] = True
            out["stream_options"] = {"include_usage": True}
        if same:
            for key, value in request.extras.items():
                if not key.startswith("_") and key not in out:
                    out[key] = value
            if body.get("stream") and isinstance(request.extras.get("stream_options"), dict):
                out["stream_options"] = {**request.extras["stream_options"], "include_usage": True}
        return dumps(out)

    # -- upstream answer -> canonical ---------------------------------------------------------
    def decode_message(self, body: Any) -> dict[str, Any]:
        choice = ((body or {}).get("choices") or [{}])[0]
        message = choice.get("message") or {}
        content: list[dict[str, Any]] = []
        reasoning = message.get("reasoning_content") or message.get("reasoning")
        if isinstance(reasoning, str) and reasoning:
            content.append({"type": "thinking", "thinking": reasoning, "signature": ""})
        if message.get("content"):
            content.append({"type": "text", "text": text_of(message["content"])})
        for call in message.get("tool_calls") or []:
            fn = call.get("function") or {}
            content.append({"type": "tool_use", "id": call.get("id") or new_id("call_"), "name": fn.get("name", ""),
                            "input": parse_arguments(fn.get("arguments"))})
        stop = STOP_FROM_OPENAI.get(choice.get("finish_reason") or "stop", "end_turn")
        if any(b["type"] == "tool_use" for b in content):
            stop = "tool_use"
        return {"id": body.get("id") or new_id("msg_"), "type": "message", "role": "assistant",
                "model": body.get("model", ""), "content": content, "stop_reason": stop, "stop_sequence": None,
                "usage": usage_from_openai(body.get("usage") or {})}

    # -- canonical answer -> client -----------------------------------------------------------
    def encode_message(self, message: dict[str, Any], request: ModelRequest) -> dict[str, Any]:
        text = "".join(b.get("text", "") for b in message.get("content") or [] if b.get("type") == "text")
        reasoning = "".join(b.get("thinking", "") for b in message.get("content") or [] if b.get("type") == "thinking")
        calls = [{"id": b["id"], "type": "function",
                  "function": {"name": b["name"], "arguments": dumps(b.get("input") or {}).decode()}}
                 for b in message.get("content") or [] if b.get("type") == "tool_use"]
        out_message: dict[str, Any] = {"role": "assistant", "content": text or (None if calls else "")}
        if calls:
            out_message["tool_calls"] = calls
        if reasoning:
            out_message["reasoning_content"] = reasoning
        return {"id": _chat_id(message.get("id")), "object": "chat.completion", "created": int(time.time()),
                "model": message.get("model", ""),
                "choices": [{"index": 0, "message": out_message, "logprobs": None,
                             "finish_reason": STOP_TO_OPENAI.get(message.get("stop_reason") or "", "stop")}],
                "usage": usage_to_openai(message.get("usage") or {})}

    def stream_decoder(self) -> "ChatStreamDecoder":
        return ChatStreamDecoder()

    def stream_encoder(self, request: ModelRequest) -> "ChatStreamEncoder":
        options = request.extras.get("stream_options")
        include_usage = isinstance(options, dict) and options.get("include_usage") is True
        return ChatStreamEncoder(include_usage)

    def error_body(self, message: str, error_type: str) -> bytes:
        return openai_error_body(message, error_type)

    def error_type(self, status: int) -> str:
        return openai_type(status)

    def error(self, error: LynkrError) -> bytes:
        return openai_error_body(f"lynkr: {error}", error.openai_type)


def _function(tool: dict[str, Any]) -> dict[str, Any]:
    fn: dict[str, Any] = {"name": tool["name"]}
    if tool.get("description"):
        fn["description"] = tool["description"]
    fn["parameters"] = tool.get("input_schema") or {"type": "object", "properties": {}}
    return fn


def _chat_messages(message: dict[str, Any]) -> list[dict[str, Any]]:
    """One canonical turn as Chat messages: tool results first, as ``tool`` messages."""
    content = message.get("content")
    if isinstance(content, str):
        return [{"role": message["role"], "content": content}]
    blocks = content or []
    if message["role"] == "assistant":
        text = "".join(b.get("text", "") for b in blocks if b.get("type") == "text")
        calls = [{"id": b["id"], "type": "function",
                  "function": {"name": b["name"], "arguments": dumps(b.get("input") or {}).decode()}}
                 for b in blocks if b.get("type") == "tool_use"]
        out: dict[str, Any] = {"role": "assistant", "content": text or None}
        if calls:
            out["tool_calls"] = calls
        return [out]
    out_messages: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "tool_result":
            out_messages.append({"role": "tool", "tool_call_id": block.get("tool_use_id", ""),
                                 "content": result_text(block)})
            parts.extend({"type": "image_url", "image_url": {"url": image_url(i)}}
                         for i in _tool_result_images(block.get("content")))
        elif kind == "text":
            parts.append({"type": "text", "text": block.get("text", "")})
        elif kind == "image":
            parts.append({"type": "image_url", "image_url": {"url": image_url(block)}})
    if parts:
        if all(p["type"] == "text" for p in parts):
            out_messages.append({"role": "user", "content": "\n".join(p["text"] for p in parts)})
        else:
            out_messages.append({"role": "user", "content": parts})
    return out_messages


def _chat_id(message_id: Any) -> str:
    text = str(message_id or "")
    return text if text.startswith("chatcmpl") else f"chatcmpl-{text.removeprefix('msg_') or new_id('')}"


def token_count(value: Any, default: int | None = 0) -> int | None:
    """A token count as reported: a whole number, ``default`` when absent, None when it is something
    else (``"11"``): an upstream's unreadable count is unknown, never a failed answer."""
    if value is None:
        return default
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def known_counts(**counts: int | None) -> dict[str, int]:
    """The counts that are known: a canonical ``usage`` leaves out what the upstream did not say."""
    return {key: value for key, value in counts.items() if value is not None}


def usage_from_openai(usage: dict[str, Any]) -> dict[str, int]:
    prompt = token_count(usage.get("prompt_tokens", usage.get("input_tokens")))
    details = usage.get("prompt_tokens_details") or usage.get("input_tokens_details") or {}
    cached = (token_count(details.get("cached_tokens") if isinstance(details, dict) else None)
              or token_count(usage.get("prompt_cache_hit_tokens")) or 0)
    output = token_count(usage.get("completion_tokens", usage.get("output_tokens")))
    return known_counts(input_tokens=max(prompt - cached, 0) if prompt is not None else None,
                        cache_creation_input_tokens=0, cache_read_input_tokens=cached, output_tokens=output)


def usage_to_openai(usage: dict[str, Any]) -> dict[str, Any]:
    cached = token_count(usage.get("cache_read_input_tokens")) or 0
    prompt = ((token_count(usage.get("input_tokens")) or 0) + cached
              + (token_count(usage.get("cache_creation_input_tokens")) or 0))
    output = token_count(usage.get("output_tokens")) or 0
    return {"prompt_tokens": prompt, "completion_tokens": output, "total_tokens": prompt + output,
            "prompt_tokens_details": {"cached_tokens": cached}}


class ChatStreamDecoder(SSEDecoder, BlockTracker):
    """Chat Completions chunks -> canonical events, block by block, as they arrive."""

    def __init__(self) -> None:
        super().__init__()
        self._started = False
        self._tools: dict[int, int] = {}  # OpenAI tool_calls index -> block index
        self._stop: str | None = None
        self._usage: dict[str, Any] | None = None

    def _incomplete(self, events: list[Event]) -> None:
        """No ``[DONE]``: fine if a finish reason came (some servers omit it), else the stream was cut."""
        if self._stop is None:
            super()._incomplete(events)
        else:
            self._end(events)

    def _data(self, data: str, events: list[Event]) -> None:
        if self._done:
            return
        if data.strip() == "[DONE]":
            if self._stop is not None or self._started:
                self._end(events)
            return
        chunk = self._json(data)
        if not isinstance(chunk, dict):
            return
        if "error" in chunk:
            events.append({"type": "error", "error": {"type": "api_error",
                                                      "message": error_detail(chunk) or "upstream error"}})
            self._done = True
            return
        if not self._started:
            self._started = True
            events.append({"type": "message_start", "message": {
                "id": chunk.get("id") or new_id("msg_"), "type": "message", "role": "assistant",
                "model": chunk.get("model", ""), "content": [], "stop_reason": None, "stop_sequence": None,
                "usage": {"input_tokens": 0, "output_tokens": 0}}})
        if chunk.get("usage"):
            self._usage = chunk["usage"]
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") or {}
            reasoning = delta.get("reasoning_content") or delta.get("reasoning")
            if isinstance(reasoning, str) and reasoning:
                self._open_block("thinking", {"type": "thinking", "thinking": "", "signature": ""}, events)
                events.append(block_delta(self._index, {"type": "thinking_delta", "thinking": reasoning}))
            if isinstance(delta.get("content"), str) and delta["content"]:
                self._open_block("text", {"type": "text", "text": ""}, events)
                events.append(block_delta(self._index, {"type": "text_delta", "text": delta["content"]}))
            for call in delta.get("tool_calls") or []:
                self._tool_delta(call, events)
            if choice.get("finish_reason"):
                self._stop = STOP_FROM_OPENAI.get(choice["finish_reason"], "end_turn")

    def _tool_delta(self, call: dict[str, Any], events: list[Event]) -> None:
        position = call.get("index", len(self._tools))
        fn = call.get("function") or {}
        if position not in self._tools:
            self._close(events)
            self._index += 1
            self._open = "tool"
            self._tools[position] = self._index
            events.append({"type": "content_block_start", "index": self._index, "content_block": {
                "type": "tool_use", "id": call.get("id") or new_id("call_"), "name": fn.get("name", ""), "input": {}}})
        arguments = fn.get("arguments")
        if arguments:
            events.append(block_delta(self._tools[position], {"type": "input_json_delta", "partial_json": arguments}))

    def _end(self, events: list[Event]) -> None:
        self._close(events)
        stop = "tool_use" if self._tools else (self._stop or "end_turn")
        usage = usage_from_openai(self._usage or {})
        events.append({"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None},
                       "usage": usage})
        events.append({"type": "message_stop"})
        self._done = True


class ChatStreamEncoder:
    """Canonical events -> Chat Completions chunks, one chunk per event."""

    media_type = "text/event-stream"

    def __init__(self, include_usage: bool) -> None:
        self.include_usage = include_usage
        self._id = new_id("chatcmpl-")
        self._model = ""
        self._created = int(time.time())
        self._tool_positions: dict[int, int] = {}
        self._usage: dict[str, Any] = {}
        self._stop: str | None = None

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> bytes:
        return sse_event(None, {"id": self._id, "object": "chat.completion.chunk", "created": self._created,
                                "model": self._model,
                                "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]})

    def encode(self, event: Event) -> bytes:
        kind = event.get("type")
        if kind == "message_start":
            message = event.get("message") or {}
            self._id = _chat_id(message.get("id"))
            self._model = message.get("model", "")
            self._usage.update(message.get("usage") or {})
            return self._chunk({"role": "assistant", "content": ""})
        if kind == "content_block_start":
            block = event.get("content_block") or {}
            if block.get("type") == "tool_use":
                position = len(self._tool_positions)
                self._tool_positions[event["index"]] = position
                return self._chunk({"tool_calls": [{"index": position, "id": block.get("id"), "type": "function",
                                                    "function": {"name": block.get("name"), "arguments": ""}}]})
            return b""
        if kind == "content_block_delta":
            delta = event.get("delta") or {}
            dtype = delta.get("type")
            if dtype == "text_delta":
                return self._chunk({"content": delta.get("text", "")})
            if dtype == "thinking_delta":
                return self._chunk({"reasoning_content": delta.get("thinking", "")})
            if dtype == "input_json_delta":
                position = self._tool_positions.get(event.get("index", -1), 0)
                return self._chunk({"tool_calls": [{"index": position,
                                                    "function": {"arguments": delta.get("partial_json", "")}}]})
            return b""
        if kind == "message_delta":
            self._usage.update({k: v for k, v in (event.get("usage") or {}).items() if v is not None})
            self._stop = (event.get("delta") or {}).get("stop_reason") or self._stop
            return self._chunk({}, STOP_TO_OPENAI.get(self._stop or "", "stop"))
        if kind == "message_stop":
            out = b""
            if self.include_usage:
                out += sse_event(None, {"id": self._id, "object": "chat.completion.chunk", "created": self._created,
                                        "model": self._model, "choices": [], "usage": usage_to_openai(self._usage)})
            return out + b"data: [DONE]\n\n"
        if kind == "error":
            error = event.get("error") or {}
            return sse_event(None, {"error": {"message": error.get("message", "error"),
                                              "type": error.get("type", "server_error"), "param": None, "code": None}})
        return b""
