"""OpenAI Responses <-> canonical, requests, answers and SSE streams (what Codex speaks).

Mapping notes:
- ``instructions`` and ``developer``/``system`` messages become the canonical system prompt, in order.
- ``function_call`` items are assistant ``tool_use`` blocks keyed by ``call_id``;
  ``function_call_output`` items are ``tool_result`` blocks, so a tool loop keeps its ids.
- ``reasoning`` items carry OpenAI's encrypted reasoning: kept only for a same-format pass-through
  (they mean nothing to another provider). Thinking from another provider is streamed to the client as
  a reasoning summary.
- Built-in tools (``web_search``, ``namespace`` groups) exist only at OpenAI; translated requests
  carry the function tools, the ones every provider can call.
- The stream encoder emits the full event sequence Codex relies on: ``response.created``,
  ``output_item.added``/``done`` with complete items, text/argument deltas, ``response.completed``
  with usage.
"""

from __future__ import annotations

import time
from typing import Any

from lynkr_cli.canonical import ModelRequest
from lynkr_cli.errors import LynkrError, openai_error_body
from lynkr_cli.formats.jsonio import dumps
from lynkr_cli.formats.base import Event, SSEDecoder, new_id, parse_arguments, sse_event, text_of
from lynkr_cli.formats.errors import error_detail, openai_type
from lynkr_cli.formats.openai_chat import (
    EFFORT_BUDGET,
    append_message,
    effort_for,
    image_block,
    image_url,
    system_text,
    thinking_budget,
    tool_choice_from_canonical,
    result_text,
    token_count,
    usage_from_openai,
)

_REQUEST_KEYS = {"model", "input", "instructions", "tools", "tool_choice", "max_output_tokens", "temperature",
                 "top_p", "stream", "parallel_tool_calls"}


def _content_blocks(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    blocks: list[dict[str, Any]] = []
    for part in content or []:
        kind = part.get("type")
        if kind in ("input_text", "output_text", "text"):
            blocks.append({"type": "text", "text": part.get("text", "")})
        elif kind == "refusal":
            blocks.append({"type": "text", "text": part.get("refusal", "")})
        elif kind == "input_image" and part.get("image_url"):
            blocks.append(image_block(part["image_url"]))
    return blocks


def _output_text(output: Any) -> Any:
    """A ``function_call_output`` value: a string, or content parts made canonical."""
    if isinstance(output, str):
        return output
    blocks = _content_blocks(output)
    return blocks if any(b["type"] == "image" for b in blocks) else text_of(blocks)


def _namespaces(tools: list[dict[str, Any]]) -> dict[str, str]:
    """Function name -> namespace, for the functions Codex groups (``multi_agent_v1``: sub-agents)."""
    return {inner.get("name", ""): tool.get("name", "") for tool in tools or [] if tool.get("type") == "namespace"
            for inner in tool.get("tools") or [] if inner.get("type") == "function"}


def _tools_to_canonical(tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Function tools, including those inside a ``namespace`` group (flattened: every provider can call
    them; the namespace is put back on the calls the client receives)."""
    flat: list[dict[str, Any]] = []
    for tool in tools or []:
        flat.extend(tool.get("tools") or [] if tool.get("type") == "namespace" else [tool])
    out = []
    for tool in flat:
        if tool.get("type") != "function":
            continue
        entry: dict[str, Any] = {"name": tool.get("name", "")}
        if tool.get("description"):
            entry["description"] = tool["description"]
        entry["input_schema"] = tool.get("parameters") or {"type": "object", "properties": {}}
        out.append(entry)
    return out


def _choice_to_canonical(choice: Any, parallel: Any) -> dict[str, Any] | None:
    result: dict[str, Any] | None = None
    if choice == "none":
        result = {"type": "none"}
    elif choice == "required":
        result = {"type": "any"}
    elif isinstance(choice, dict) and choice.get("type") == "function" and choice.get("name"):
        result = {"type": "tool", "name": choice["name"]}
    elif choice == "auto" or parallel is False:
        result = {"type": "auto"}
    if result is not None and parallel is False and result["type"] != "none":
        result["disable_parallel_tool_use"] = True
    return result


class ResponsesCodec:
    name = "openai-responses"
    stream_media_type = "text/event-stream"

    # -- client -> canonical ------------------------------------------------------------------
    def decode_request(self, payload: dict[str, Any], raw: bytes) -> ModelRequest:
        system: list[str] = []
        if payload.get("instructions"):
            system.append(str(payload["instructions"]))
        messages: list[dict[str, Any]] = []
        items = payload.get("input")
        if isinstance(items, str):
            items = [{"type": "message", "role": "user", "content": items}]
        for item in items or []:
            kind = item.get("type", "message")
            if kind == "message":
                role = item.get("role")
                if role in ("system", "developer"):
                    system.append(text_of(_content_blocks(item.get("content"))))
                elif role in ("user", "assistant"):
                    append_message(messages, role, _content_blocks(item.get("content")))
            elif kind == "function_call":
                append_message(messages, "assistant", [{"type": "tool_use", "id": item.get("call_id", ""),
                                                        "name": item.get("name", ""),
                                                        "input": parse_arguments(item.get("arguments"))}])
            elif kind == "function_call_output":
                append_message(messages, "user", [{"type": "tool_result", "tool_use_id": item.get("call_id", ""),
                                                   "content": _output_text(item.get("output"))}])
        body: dict[str, Any] = {"model": payload.get("model")}
        if system:
            body["system"] = "\n\n".join(s for s in system if s)
        body["messages"] = messages
        if payload.get("max_output_tokens"):
            body["max_tokens"] = payload["max_output_tokens"]
        for key in ("temperature", "top_p"):
            if payload.get(key) is not None:
                body[key] = payload[key]
        tools = _tools_to_canonical(payload.get("tools") or [])
        if tools:
            body["tools"] = tools
            choice = _choice_to_canonical(payload.get("tool_choice"), payload.get("parallel_tool_calls"))
            if choice:
                body["tool_choice"] = choice
        effort = (payload.get("reasoning") or {}).get("effort")
        if effort in EFFORT_BUDGET:
            body["thinking"] = {"type": "enabled", "budget_tokens": EFFORT_BUDGET[effort]}
        if payload.get("stream"):
            body["stream"] = True
        extras = {k: v for k, v in payload.items() if k not in _REQUEST_KEYS}
        namespaces = _namespaces(payload.get("tools") or [])
        if namespaces:
            extras["_namespaces"] = namespaces
        return ModelRequest(body=body, inbound="openai-responses", raw=raw, extras=extras)

    # -- canonical -> upstream ----------------------------------------------------------------
    def encode_request(self, request: ModelRequest, model: str) -> bytes:
        if request.inbound == "openai-responses" and request.raw is not None and model == request.model:
            return request.raw
        body = request.body
        out: dict[str, Any] = {"model": model}
        instructions = system_text(body.get("system"))
        if instructions:
            out["instructions"] = instructions
        items: list[dict[str, Any]] = []
        for message in body.get("messages") or []:
            items.extend(_items(message))
        out["input"] = items
        tools = [t for t in body.get("tools") or [] if "input_schema" in t]
        if tools:
            out["tools"] = [{"type": "function", "name": t["name"], "description": t.get("description", ""),
                             "parameters": t["input_schema"], "strict": False} for t in tools]
            choice, parallel = tool_choice_from_canonical(body.get("tool_choice"))
            if isinstance(choice, dict):
                choice = {"type": "function", "name": choice["function"]["name"]}
            if choice is not None:
                out["tool_choice"] = choice
            if parallel is not None:
                out["parallel_tool_calls"] = parallel
        if body.get("max_tokens"):
            out["max_output_tokens"] = body["max_tokens"]
        for key in ("temperature", "top_p"):
            if body.get(key) is not None:
                out[key] = body[key]
        effort = effort_for(thinking_budget(body))
        if effort:
            out["reasoning"] = {"effort": effort, "summary": "auto"}
        out["stream"] = bool(body.get("stream"))
        out["store"] = False
        if request.inbound == "openai-responses":
            for key, value in request.extras.items():
                if not key.startswith("_") and key not in out:
                    out[key] = value
        return dumps(out)

    # -- upstream answer -> canonical ---------------------------------------------------------
    def decode_message(self, body: Any) -> dict[str, Any]:
        body = body or {}
        content: list[dict[str, Any]] = []
        for item in body.get("output") or []:
            kind = item.get("type")
            if kind == "reasoning":
                text = "".join(s.get("text", "") for s in item.get("summary") or [])
                if text:
                    content.append({"type": "thinking", "thinking": text, "signature": ""})
            elif kind == "message":
                text = text_of(_content_blocks(item.get("content")))
                if text:
                    content.append({"type": "text", "text": text})
            elif kind == "function_call":
                content.append({"type": "tool_use", "id": item.get("call_id") or new_id("call_"),
                                "name": item.get("name", ""), "input": parse_arguments(item.get("arguments"))})
        return {"id": body.get("id") or new_id("msg_"), "type": "message", "role": "assistant",
                "model": body.get("model", ""), "content": content, "stop_reason": _stop_reason(body, content),
                "stop_sequence": None, "usage": usage_from_openai(body.get("usage") or {})}

    # -- canonical answer -> client -----------------------------------------------------------
    def encode_message(self, message: dict[str, Any], request: ModelRequest) -> dict[str, Any]:
        namespaces = request.extras.get("_namespaces") or {}
        output = [_output_item(block, namespaces=namespaces) for block in message.get("content") or []]
        return _response(message.get("id"), message.get("model", ""), [o for o in output if o],
                         message.get("stop_reason"), message.get("usage") or {})

    def stream_decoder(self) -> "ResponsesStreamDecoder":
        return ResponsesStreamDecoder()

    def stream_encoder(self, request: ModelRequest) -> "ResponsesStreamEncoder":
        return ResponsesStreamEncoder(request.extras.get("_namespaces") or {})

    def error_body(self, message: str, error_type: str) -> bytes:
        return openai_error_body(message, error_type)

    def error_type(self, status: int) -> str:
        return openai_type(status)

    def error(self, error: LynkrError) -> bytes:
        return openai_error_body(f"lynkr: {error}", error.openai_type)


def _items(message: dict[str, Any]) -> list[dict[str, Any]]:
    role = message["role"]
    content = message.get("content")
    if isinstance(content, str):
        return [_message_item(role, [{"type": "text", "text": content}])]
    items: list[dict[str, Any]] = []
    pending: list[dict[str, Any]] = []
    for block in content or []:
        kind = block.get("type")
        if kind in ("text", "image"):
            pending.append(block)
            continue
        if pending:
            items.append(_message_item(role, pending))
            pending = []
        if kind == "tool_use":
            items.append({"type": "function_call", "call_id": block.get("id", ""), "name": block.get("name", ""),
                          "arguments": dumps(block.get("input") or {}).decode()})
        elif kind == "tool_result":
            items.append({"type": "function_call_output", "call_id": block.get("tool_use_id", ""),
                          "output": _tool_output(block)})
    if pending:
        items.append(_message_item(role, pending))
    return items


def _tool_output(block: dict[str, Any]) -> Any:
    """A tool result as Responses takes it: text, or text and images (a screenshot the agent read)."""
    content = block.get("content")
    images = [b for b in content if isinstance(b, dict) and b.get("type") == "image"] if isinstance(content, list) else []
    if not images or not isinstance(content, list):
        return result_text(block)
    texts = [b.get("text", "") for b in content if isinstance(b, dict) and b.get("type") == "text"]
    prefix = "Error: " if block.get("is_error") else ""
    parts: list[dict[str, Any]] = [{"type": "input_text", "text": prefix + t} for t in texts if t or prefix]
    return parts + [{"type": "input_image", "image_url": image_url(i)} for i in images]


def _message_item(role: str, blocks: list[dict[str, Any]]) -> dict[str, Any]:
    parts: list[dict[str, Any]] = []
    for block in blocks:
        if block["type"] == "text":
            parts.append({"type": "output_text" if role == "assistant" else "input_text", "text": block.get("text", "")})
        elif block["type"] == "image":
            parts.append({"type": "input_image", "image_url": image_url(block)})
    return {"type": "message", "role": role, "content": parts}


def _stop_reason(body: dict[str, Any], content: list[dict[str, Any]]) -> str:
    if any(b["type"] == "tool_use" for b in content):
        return "tool_use"
    if body.get("status") == "incomplete":
        reason = (body.get("incomplete_details") or {}).get("reason")
        return "max_tokens" if reason == "max_output_tokens" else "refusal" if reason == "content_filter" else "end_turn"
    return "end_turn"


def _output_item(block: dict[str, Any], item_id: str | None = None,
                 namespaces: dict[str, str] | None = None) -> dict[str, Any] | None:
    kind = block.get("type")
    namespace = (namespaces or {}).get(block.get("name", "")) if kind == "tool_use" else None
    if namespace:
        item = _output_item(block, item_id)
        return {**item, "namespace": namespace} if item else None
    if kind == "text":
        return {"id": item_id or new_id("msg_"), "type": "message", "status": "completed", "role": "assistant",
                "content": [{"type": "output_text", "text": block.get("text", ""), "annotations": []}]}
    if kind == "tool_use":
        return {"id": item_id or new_id("fc_"), "type": "function_call", "status": "completed",
                "call_id": block.get("id", ""), "name": block.get("name", ""),
                "arguments": block["partial"] if "partial" in block else dumps(block.get("input") or {}).decode()}
    if kind == "thinking":
        return {"id": item_id or new_id("rs_"), "type": "reasoning",
                "summary": [{"type": "summary_text", "text": block.get("thinking", "")}]}
    return None


def _usage(usage: dict[str, Any]) -> dict[str, Any]:
    cached = token_count(usage.get("cache_read_input_tokens")) or 0
    prompt = ((token_count(usage.get("input_tokens")) or 0) + cached
              + (token_count(usage.get("cache_creation_input_tokens")) or 0))
    output = token_count(usage.get("output_tokens")) or 0
    return {"input_tokens": prompt, "input_tokens_details": {"cached_tokens": cached}, "output_tokens": output,
            "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": prompt + output}


def _response(message_id: Any, model: str, output: list[dict[str, Any]], stop: str | None,
              usage: dict[str, Any] | None, status: str | None = None) -> dict[str, Any]:
    text = str(message_id or "")
    if status is None:
        status = "incomplete" if stop == "max_tokens" else "completed"
    return {"id": text if text.startswith("resp_") else f"resp_{text.removeprefix('msg_') or new_id('')}",
            "object": "response", "created_at": int(time.time()), "status": status, "error": None,
            "incomplete_details": {"reason": "max_output_tokens"} if status == "incomplete" else None,
            "model": model, "output": output, "parallel_tool_calls": True, "tool_choice": "auto", "tools": [],
            "usage": _usage(usage) if usage is not None else None}


class ResponsesStreamDecoder(SSEDecoder):
    """Responses SSE -> canonical events; each output item becomes one content block."""

    def __init__(self) -> None:
        super().__init__()
        self._started = False
        self._blocks: dict[int, tuple[int, str]] = {}  # output_index -> (block index, kind)
        self._next = 0
        self._args_seen: set[int] = set()

    def _start(self, response: dict[str, Any], events: list[Event]) -> None:
        if not self._started:
            self._started = True
            events.append({"type": "message_start", "message": {
                "id": response.get("id") or new_id("msg_"), "type": "message", "role": "assistant",
                "model": response.get("model", ""), "content": [], "stop_reason": None, "stop_sequence": None,
                "usage": {"input_tokens": 0, "output_tokens": 0}}})

    def _open(self, output_index: int, block: dict[str, Any], events: list[Event]) -> int:
        found = self._blocks.get(output_index)
        if found is not None:
            return found[0]
        index = self._next
        self._next += 1
        self._blocks[output_index] = (index, block["type"])
        events.append({"type": "content_block_start", "index": index, "content_block": block})
        return index

    def _data(self, data: str, events: list[Event]) -> None:
        event = self._json(data)
        if self._done or not isinstance(event, dict):
            return
        kind = event.get("type", "")
        position = event.get("output_index", 0)
        if kind in ("response.created", "response.in_progress"):
            self._start(event.get("response") or {}, events)
        elif kind == "response.output_item.added":
            self._start({}, events)
            item = event.get("item") or {}
            if item.get("type") == "function_call":
                self._open(position, {"type": "tool_use", "id": item.get("call_id", ""), "name": item.get("name", ""),
                                      "input": {}}, events)
        elif kind == "response.output_text.delta":
            self._start({}, events)
            index = self._open(position, {"type": "text", "text": ""}, events)
            events.append({"type": "content_block_delta", "index": index,
                           "delta": {"type": "text_delta", "text": event.get("delta", "")}})
        elif kind in ("response.reasoning_summary_text.delta", "response.reasoning_text.delta"):
            self._start({}, events)
            index = self._open(position, {"type": "thinking", "thinking": "", "signature": ""}, events)
            events.append({"type": "content_block_delta", "index": index,
                           "delta": {"type": "thinking_delta", "thinking": event.get("delta", "")}})
        elif kind == "response.function_call_arguments.delta":
            found = self._blocks.get(position)
            if found is not None and event.get("delta"):
                self._args_seen.add(position)
                events.append({"type": "content_block_delta", "index": found[0],
                               "delta": {"type": "input_json_delta", "partial_json": event["delta"]}})
        elif kind == "response.output_item.done":
            item = event.get("item") or {}
            if item.get("type") == "function_call":
                index = self._open(position, {"type": "tool_use", "id": item.get("call_id", ""),
                                              "name": item.get("name", ""), "input": {}}, events)
                if position not in self._args_seen and item.get("arguments"):
                    events.append({"type": "content_block_delta", "index": index,
                                   "delta": {"type": "input_json_delta", "partial_json": item["arguments"]}})
            elif item.get("type") == "message" and position not in self._blocks:
                text = text_of(_content_blocks(item.get("content")))
                if text:
                    index = self._open(position, {"type": "text", "text": ""}, events)
                    events.append({"type": "content_block_delta", "index": index,
                                   "delta": {"type": "text_delta", "text": text}})
            found = self._blocks.get(position)
            if found is not None:
                events.append({"type": "content_block_stop", "index": found[0]})
        elif kind in ("response.completed", "response.incomplete"):
            response = event.get("response") or {}
            self._start(response, events)
            has_tools = any(k == "tool_use" for _, k in self._blocks.values())
            stop = "tool_use" if has_tools else _stop_reason(response, [])
            events.append({"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None},
                           "usage": usage_from_openai(response.get("usage") or {})})
            events.append({"type": "message_stop"})
            self._done = True
        elif kind in ("response.failed", "error"):
            source = event.get("response") or event
            message = error_detail(source) or (source.get("error") or {}).get("message") or event.get("message")
            events.append({"type": "error", "error": {"type": "api_error", "message": message or "upstream error"}})
            self._done = True


class ResponsesStreamEncoder:
    """Canonical events -> Responses SSE, in the order the OpenAI API emits them."""

    media_type = "text/event-stream"

    def __init__(self, namespaces: dict[str, str] | None = None) -> None:
        self._namespaces = namespaces or {}
        self._seq = 0
        self._id = new_id("resp_")
        self._model = ""
        self._items: dict[int, dict[str, Any]] = {}  # block index -> output item being built
        self._positions: dict[int, int] = {}
        self._output: list[dict[str, Any]] = []
        self._usage: dict[str, Any] = {}
        self._stop: str | None = None

    def _event(self, name: str, data: dict[str, Any]) -> bytes:
        data = {"type": name, **data, "sequence_number": self._seq}
        self._seq += 1
        return sse_event(name, data)

    def encode(self, event: Event) -> bytes:
        """The Responses events for one canonical event (``ping`` and unknown types: none)."""
        kind = event.get("type")
        if kind == "message_start":
            return self._on_message_start(event)
        if kind == "content_block_start":
            return self._on_content_block_start(event)
        if kind == "content_block_delta":
            return self._on_content_block_delta(event)
        if kind == "content_block_stop":
            return self._on_content_block_stop(event)
        if kind == "message_delta":
            return self._on_message_delta(event)
        if kind == "message_stop":
            return self._on_message_stop(event)
        if kind == "error":
            return self._on_error(event)
        return b""

    def _on_message_start(self, event: Event) -> bytes:
        message = event.get("message") or {}
        self._id = _response(message.get("id"), "", [], None, None)["id"]
        self._model = message.get("model", "")
        self._usage.update(message.get("usage") or {})
        response = _response(self._id, self._model, [], None, None, status="in_progress")
        return self._event("response.created", {"response": response}) + self._event(
            "response.in_progress", {"response": response})

    def _on_content_block_start(self, event: Event) -> bytes:
        block = dict(event.get("content_block") or {})
        kind = block.get("type")
        if kind not in ("text", "tool_use", "thinking"):
            return b""
        if kind == "tool_use":
            block["partial"] = ""
        item = _output_item(block, namespaces=self._namespaces) or {}
        item["status"] = "in_progress"
        position = len(self._output) + len(self._items)
        self._items[event["index"]] = {"item": item, "block": block, "position": position}
        added = dict(item)
        if kind == "text":
            added["content"] = []
        elif kind == "thinking":
            added["summary"] = []
        out = self._event("response.output_item.added", {"output_index": position, "item": added})
        if kind == "text":
            out += self._event("response.content_part.added", {
                "item_id": item["id"], "output_index": position, "content_index": 0,
                "part": {"type": "output_text", "text": "", "annotations": []}})
        elif kind == "thinking":
            out += self._event("response.reasoning_summary_part.added", {
                "item_id": item["id"], "output_index": position, "summary_index": 0,
                "part": {"type": "summary_text", "text": ""}})
        return out

    def _on_content_block_delta(self, event: Event) -> bytes:
        state = self._items.get(event.get("index", -1))
        if state is None:
            return b""
        item, block, position = state["item"], state["block"], state["position"]
        delta = event.get("delta") or {}
        dtype = delta.get("type")
        if dtype == "text_delta":
            block["text"] = block.get("text", "") + delta.get("text", "")
            return self._event("response.output_text.delta", {"item_id": item["id"], "output_index": position,
                                                              "content_index": 0, "delta": delta.get("text", ""),
                                                              "logprobs": []})
        if dtype == "input_json_delta":
            block["partial"] += delta.get("partial_json", "")
            return self._event("response.function_call_arguments.delta", {
                "item_id": item["id"], "output_index": position, "delta": delta.get("partial_json", "")})
        if dtype == "thinking_delta":
            block["thinking"] = block.get("thinking", "") + delta.get("thinking", "")
            return self._event("response.reasoning_summary_text.delta", {
                "item_id": item["id"], "output_index": position, "summary_index": 0,
                "delta": delta.get("thinking", "")})
        return b""

    def _on_content_block_stop(self, event: Event) -> bytes:
        state = self._items.pop(event.get("index", -1), None)
        if state is None:
            return b""
        block, position = state["block"], state["position"]
        if block.get("type") == "tool_use" and not block["partial"]:
            block["partial"] = "{}"
        item = _output_item(block, state["item"]["id"], self._namespaces) or {}
        self._output.append(item)
        out = b""
        if item["type"] == "message":
            text = item["content"][0]["text"]
            out += self._event("response.output_text.done", {"item_id": item["id"], "output_index": position,
                                                             "content_index": 0, "text": text, "logprobs": []})
            out += self._event("response.content_part.done", {"item_id": item["id"], "output_index": position,
                                                              "content_index": 0, "part": item["content"][0]})
        elif item["type"] == "function_call":
            out += self._event("response.function_call_arguments.done", {
                "item_id": item["id"], "output_index": position, "arguments": item["arguments"]})
        elif item["type"] == "reasoning":
            text = item["summary"][0]["text"]
            out += self._event("response.reasoning_summary_text.done", {
                "item_id": item["id"], "output_index": position, "summary_index": 0, "text": text})
            out += self._event("response.reasoning_summary_part.done", {
                "item_id": item["id"], "output_index": position, "summary_index": 0, "part": item["summary"][0]})
        return out + self._event("response.output_item.done", {"output_index": position, "item": item})

    def _on_message_delta(self, event: Event) -> bytes:
        self._usage.update({k: v for k, v in (event.get("usage") or {}).items() if v is not None})
        self._stop = (event.get("delta") or {}).get("stop_reason") or self._stop
        return b""

    def _on_message_stop(self, event: Event) -> bytes:
        response = _response(self._id, self._model, self._output, self._stop, self._usage)
        name = "response.incomplete" if response["status"] == "incomplete" else "response.completed"
        return self._event(name, {"response": response})

    def _on_error(self, event: Event) -> bytes:
        error = event.get("error") or {}
        response = _response(self._id, self._model, self._output, None, self._usage, status="failed")
        response["error"] = {"code": error.get("type", "server_error"), "message": error.get("message", "error")}
        return self._event("response.failed", {"response": response})
