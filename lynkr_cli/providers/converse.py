"""Canonical (Anthropic Messages) <-> Amazon Bedrock Converse / ConverseStream, both directions.

Requests: messages, system prompt, tools (the full JSON Schema, untouched), tool calls and results
with their ids, images and PDFs, thinking blocks, and Anthropic ``cache_control`` breakpoints (as
Converse ``cachePoint`` blocks, so Bedrock's prompt cache works as Anthropic's does). Model-specific
fields (``thinking``, ``top_k``) go to ``additionalModelRequestFields`` only for Claude models; other
Bedrock models would reject them.

Responses: ``decode_message`` turns a Converse answer into one Anthropic message;
``ConverseStreamDecoder`` turns ConverseStream's binary event stream into Anthropic stream events one
by one as the bytes arrive (text, tool input JSON, reasoning and its signature), with usage including
cache reads and writes. Bedrock reports usage in a ``metadata`` event *after* ``messageStop``, so the
``message_delta`` (stop reason + usage) is emitted when that arrives — the only event held back.
"""

from __future__ import annotations

import base64
import json
import secrets
from typing import Any, Iterable, Mapping

from lynkr_cli.errors import UsageError
from lynkr_cli.providers.eventstream import EventMessage, EventStreamDecoder, EventStreamError

Event = dict[str, Any]

STOP_REASONS = {
    "end_turn": "end_turn",
    "tool_use": "tool_use",
    "max_tokens": "max_tokens",
    "stop_sequence": "stop_sequence",
    "guardrail_intervened": "refusal",
    "content_filtered": "refusal",
    "model_context_window_exceeded": "model_context_window_exceeded",
}
# Bedrock exception names (stream ``:exception-type`` or ``x-amzn-ErrorType``) -> Anthropic error types.
ERROR_TYPES = {
    "throttlingexception": "rate_limit_error",
    "validationexception": "invalid_request_error",
    "accessdeniedexception": "permission_error",
    "resourcenotfoundexception": "not_found_error",
    "servicequotaexceededexception": "rate_limit_error",
    "serviceunavailableexception": "overloaded_error",
    "modelnotreadyexception": "overloaded_error",
}
_IMAGE_FORMATS = {"image/png": "png", "image/jpeg": "jpeg", "image/jpg": "jpeg", "image/gif": "gif",
                  "image/webp": "webp"}
_CACHE_POINT = {"cachePoint": {"type": "default"}}


def is_claude(model: str) -> bool:
    """Claude on Bedrock: ``anthropic.claude-…``, inference profiles ``us.anthropic.…``, or an ARN."""
    lowered = model.lower()
    return "anthropic." in lowered or "claude" in lowered


def supports_cache_points(model: str) -> bool:
    return is_claude(model) or "amazon.nova" in model.lower()


# -- requests ----------------------------------------------------------------------------------


def encode_request(body: Mapping[str, Any], model: str) -> dict[str, Any]:
    """The Converse request body for a canonical request (the model goes in the URL, not here)."""
    claude = is_claude(model)
    cache = supports_cache_points(model)
    out: dict[str, Any] = {"messages": [_message(m, claude, cache) for m in body.get("messages") or []]}
    system = _system(body.get("system"), cache)
    if system:
        out["system"] = system
    inference = {
        key: body[src]
        for src, key in (("max_tokens", "maxTokens"), ("temperature", "temperature"), ("top_p", "topP"),
                         ("stop_sequences", "stopSequences"))
        if body.get(src) is not None
    }
    if inference:
        out["inferenceConfig"] = inference
    tool_config = _tool_config(body.get("tools") or [], body.get("tool_choice"), out["messages"], cache)
    if tool_config:
        out["toolConfig"] = tool_config
    extra = _additional_fields(body) if claude else {}
    if extra:
        out["additionalModelRequestFields"] = extra
    return out


def _additional_fields(body: Mapping[str, Any]) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    thinking = body.get("thinking")
    # "adaptive" (sent by Claude Code on every main request) is refused by Claude models before 4.6
    # on Bedrock; leaving it out means "no extended thinking", which every model accepts.
    if isinstance(thinking, dict) and thinking.get("type") in ("enabled", "disabled"):
        extra["thinking"] = thinking
    if body.get("top_k") is not None:
        extra["top_k"] = body["top_k"]
    return extra


def _system(system: Any, cache: bool) -> list[dict[str, Any]]:
    if not system:
        return []
    if isinstance(system, str):
        return [{"text": system}]
    blocks: list[dict[str, Any]] = []
    for block in system:
        if block.get("type") == "text" and block.get("text"):
            blocks.append({"text": block["text"]})
            if cache and block.get("cache_control"):
                blocks.append(_CACHE_POINT)
    return blocks


def _message(message: Mapping[str, Any], claude: bool, cache: bool) -> dict[str, Any]:
    content = message.get("content")
    blocks: Iterable[Mapping[str, Any]] = [{"type": "text", "text": content}] if isinstance(content, str) else content or []
    out: list[dict[str, Any]] = []
    for block in blocks:
        converted = _block(block, claude)
        if converted is None:
            continue
        out.append(converted)
        if cache and block.get("cache_control"):
            out.append(_CACHE_POINT)
    if not out or all("cachePoint" in b for b in out):
        out.insert(0, {"text": "."})  # Converse refuses an empty or blank message
    return {"role": message.get("role", "user"), "content": out}


def _block(block: Mapping[str, Any], claude: bool) -> dict[str, Any] | None:
    kind = block.get("type")
    if kind == "text":
        text = block.get("text") or ""
        return {"text": text} if text.strip() else None  # Converse rejects blank text blocks
    if kind == "image":
        return {"image": _image(block.get("source") or {})}
    if kind == "document":
        return _document(block)
    if kind == "tool_use":
        return {"toolUse": {"toolUseId": block.get("id"), "name": block.get("name"), "input": block.get("input") or {}}}
    if kind == "tool_result":
        result: dict[str, Any] = {"toolUseId": block.get("tool_use_id"), "content": _tool_result(block.get("content"))}
        if block.get("is_error"):
            result["status"] = "error"
        return {"toolResult": result}
    if kind == "thinking":
        # Without a signature (thinking from another provider) Claude refuses the block; other
        # Bedrock models accept no reasoning input at all.
        if not claude or not block.get("signature"):
            return None
        return {"reasoningContent": {"reasoningText": {"text": block.get("thinking", ""), "signature": block["signature"]}}}
    if kind == "redacted_thinking":
        return {"reasoningContent": {"redactedContent": block.get("data", "")}} if claude else None
    # Unknown block types (server tool results…) have no Converse form; keep their text if any.
    text = block.get("text")
    return {"text": text} if isinstance(text, str) and text.strip() else None


def _image(source: Mapping[str, Any]) -> dict[str, Any]:
    if source.get("type") != "base64":
        raise UsageError(
            "Bedrock's Converse API accepts only inline (base64) images, not image URLs; "
            "send the image data or use another provider"
        )
    media = str(source.get("media_type", "")).lower()
    fmt = _IMAGE_FORMATS.get(media)
    if fmt is None:
        raise UsageError(f"Bedrock cannot take images of type {media or 'unknown'!r} (png, jpeg, gif or webp)")
    return {"format": fmt, "source": {"bytes": source.get("data", "")}}


def _document(block: Mapping[str, Any]) -> dict[str, Any] | None:
    source = block.get("source") or {}
    name = _document_name(block.get("title") or "document")
    if source.get("type") == "base64" and source.get("media_type") == "application/pdf":
        return {"document": {"format": "pdf", "name": name, "source": {"bytes": source.get("data", "")}}}
    if source.get("type") == "text" and source.get("data"):
        data = base64.b64encode(str(source["data"]).encode()).decode()
        return {"document": {"format": "txt", "name": name, "source": {"bytes": data}}}
    raise UsageError("Bedrock's Converse API accepts only inline PDF or text documents")


def _document_name(title: str) -> str:
    # Converse allows letters, digits, single spaces, hyphens, parentheses and brackets in names.
    cleaned = "".join(c if c.isalnum() or c in " -()[]" else "-" for c in title)
    return " ".join(cleaned.split())[:200] or "document"


def _tool_result(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"text": content if content else "(no output)"}]
    out: list[dict[str, Any]] = []
    for block in content or []:
        if block.get("type") == "text":
            out.append({"text": block.get("text", "")})
        elif block.get("type") == "image":
            out.append({"image": _image(block.get("source") or {})})
        elif block.get("type") == "document":
            document = _document(block)
            if document:
                out.append(document)
        else:
            out.append({"text": json.dumps(block, ensure_ascii=False)})
    return out or [{"text": "(no output)"}]


def _tool_config(
    tools: list[Mapping[str, Any]], choice: Any, messages: list[dict[str, Any]], cache: bool
) -> dict[str, Any] | None:
    specs: list[dict[str, Any]] = []
    for tool in tools:
        if "input_schema" not in tool and tool.get("type") not in (None, "custom"):
            continue  # Anthropic server tools (web search…) run on Anthropic's side only
        spec: dict[str, Any] = {"name": tool["name"]}
        if tool.get("description"):
            spec["description"] = tool["description"]
        spec["inputSchema"] = {"json": tool.get("input_schema") or {"type": "object", "properties": {}}}
        specs.append({"toolSpec": spec})
        if cache and tool.get("cache_control"):
            specs.append(_CACHE_POINT)
    if not any("toolSpec" in s for s in specs):
        # Converse refuses toolUse/toolResult blocks in the history when no tool is defined.
        used = _tool_names(messages)
        if not used:
            return None
        specs = [{"toolSpec": {"name": n, "inputSchema": {"json": {"type": "object"}}}} for n in used]
    config: dict[str, Any] = {"tools": specs}
    kind = choice.get("type") if isinstance(choice, dict) else None
    if kind == "any":
        config["toolChoice"] = {"any": {}}
    elif kind == "tool" and choice.get("name"):
        config["toolChoice"] = {"tool": {"name": choice["name"]}}
    elif kind == "auto":
        config["toolChoice"] = {"auto": {}}
    return config


def _tool_names(messages: list[dict[str, Any]]) -> list[str]:
    names: list[str] = []
    for message in messages:
        for block in message["content"]:
            name = (block.get("toolUse") or {}).get("name")
            if name and name not in names:
                names.append(name)
    return names


# -- responses ---------------------------------------------------------------------------------


def message_id() -> str:
    return "msg_bdrk_" + secrets.token_hex(12)


def usage_from(usage: Mapping[str, Any] | None) -> dict[str, int]:
    """Converse usage -> Anthropic usage, cache reads and writes included (0 when absent)."""
    usage = usage or {}
    return {
        "input_tokens": int(usage.get("inputTokens") or 0),
        "output_tokens": int(usage.get("outputTokens") or 0),
        "cache_read_input_tokens": int(usage.get("cacheReadInputTokens") or 0),
        "cache_creation_input_tokens": int(usage.get("cacheWriteInputTokens") or 0),
    }


def _stop_sequence(fields: Any) -> str | None:
    if isinstance(fields, dict) and isinstance(fields.get("stop_sequence"), str):
        return fields["stop_sequence"]
    return None


def decode_message(body: Mapping[str, Any], model: str = "") -> dict[str, Any]:
    """A Converse answer -> one Anthropic message."""
    message = (body.get("output") or {}).get("message") or {}
    content: list[dict[str, Any]] = []
    for block in message.get("content") or []:
        if "text" in block:
            content.append({"type": "text", "text": block["text"]})
        elif "toolUse" in block:
            use = block["toolUse"]
            content.append({"type": "tool_use", "id": use.get("toolUseId"), "name": use.get("name"),
                            "input": use.get("input") or {}})
        elif "reasoningContent" in block:
            reasoning = block["reasoningContent"]
            if "redactedContent" in reasoning:
                content.append({"type": "redacted_thinking", "data": reasoning["redactedContent"]})
            else:
                text = reasoning.get("reasoningText") or {}
                content.append({"type": "thinking", "thinking": text.get("text", ""),
                                "signature": text.get("signature", "")})
    return {
        "id": message_id(),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": STOP_REASONS.get(body.get("stopReason", ""), "end_turn"),
        "stop_sequence": _stop_sequence(body.get("additionalModelResponseFields")),
        "usage": usage_from(body.get("usage")),
    }


def error_event(error_type: str, message: str) -> Event:
    return {"type": "error", "error": {"type": error_type, "message": message}}


def error_type_for(exception_name: str) -> str:
    """``ThrottlingException`` (or ``ThrottlingException:http://…`` from a header) -> Anthropic type."""
    name = exception_name.split(":")[0].strip().lower()
    return ERROR_TYPES.get(name, "api_error")


class ConverseStreamDecoder:
    """ConverseStream bytes -> Anthropic stream events, incrementally (see the module docstring).

    Bedrock's ``contentBlockIndex`` is mapped to consecutive Anthropic indexes; text and reasoning
    blocks, which Bedrock opens implicitly with their first delta, get a ``content_block_start``.
    """

    def __init__(self, model: str = "") -> None:
        self.model = model
        self._frames = EventStreamDecoder()
        self._started = False
        self._open: dict[int, tuple[int, str]] = {}  # bedrock index -> (anthropic index, block type)
        self._next_index = 0
        self._stop_reason: str | None = None
        self._stop_sequence: str | None = None
        self._finished = False

    def feed(self, chunk: bytes) -> list[Event]:
        if self._finished:
            return []
        events: list[Event] = []
        try:
            for frame in self._frames.feed(chunk):
                events += self._frame(frame)
                if self._finished:
                    break
        except EventStreamError as exc:
            self._finished = True
            events.append(error_event("api_error", f"lynkr: corrupt Bedrock event stream ({exc})"))
        return events

    def finish(self) -> list[Event]:
        """At the end of the body: the held ``message_delta``/``message_stop``, or an error when the
        stream was cut before Bedrock said it was done."""
        if self._finished:
            return []
        self._finished = True
        if self._stop_reason is not None:
            return self._close_blocks() + self._end(None)
        return [error_event("api_error", "lynkr: the upstream stream ended before the response was complete")]

    # -- one frame --------------------------------------------------------------------------
    def _frame(self, frame: EventMessage) -> list[Event]:
        if frame.message_type != "event":
            self._finished = True
            name = str(frame.headers.get(":exception-type") or frame.headers.get(":error-code") or "error")
            detail = str(_payload(frame).get("message") or frame.headers.get(":error-message") or name)
            return [error_event(error_type_for(name), f"upstream bedrock: {name}: {detail}")]
        kind = frame.event_type
        data = _payload(frame)
        events = self._start()  # message_start first, even if Bedrock skipped messageStart
        if kind == "contentBlockStart":
            events += self._block_start(data)
        elif kind == "contentBlockDelta":
            events += self._delta(data)
        elif kind == "contentBlockStop":
            events += self._block_stop(int(data.get("contentBlockIndex", 0)))
        elif kind == "messageStop":
            self._stop_reason = STOP_REASONS.get(data.get("stopReason", ""), "end_turn")
            self._stop_sequence = _stop_sequence(data.get("additionalModelResponseFields"))
        elif kind == "metadata":
            self._finished = True
            events += self._close_blocks() + self._end(data.get("usage"))
        return events

    def _start(self) -> list[Event]:
        if self._started:
            return []
        self._started = True
        message: dict[str, Any] = {"id": message_id(), "type": "message", "role": "assistant", "model": self.model,
                   "content": [], "stop_reason": None, "stop_sequence": None,
                   "usage": {"input_tokens": 0, "output_tokens": 0}}
        return [{"type": "message_start", "message": message}]

    def _open_block(self, bedrock_index: int, block_type: str, block: dict[str, Any]) -> list[Event]:
        index = self._next_index
        self._next_index += 1
        self._open[bedrock_index] = (index, block_type)
        return [{"type": "content_block_start", "index": index, "content_block": block}]

    def _block_start(self, data: Mapping[str, Any]) -> list[Event]:
        start = data.get("start") or {}
        bedrock_index = int(data.get("contentBlockIndex", 0))
        if "toolUse" in start:
            use = start["toolUse"]
            block = {"type": "tool_use", "id": use.get("toolUseId"), "name": use.get("name"), "input": {}}
            return self._open_block(bedrock_index, "tool_use", block)
        return []

    def _delta(self, data: Mapping[str, Any]) -> list[Event]:
        bedrock_index = int(data.get("contentBlockIndex", 0))
        delta = data.get("delta") or {}
        events: list[Event] = []
        if "text" in delta:
            events += self._ensure(bedrock_index, "text", {"type": "text", "text": ""})
            events.append(self._delta_event(bedrock_index, {"type": "text_delta", "text": delta["text"]}))
        elif "toolUse" in delta:
            events += self._ensure(bedrock_index, "tool_use", {"type": "tool_use", "id": "", "name": "", "input": {}})
            partial = delta["toolUse"].get("input") or ""
            events.append(self._delta_event(bedrock_index, {"type": "input_json_delta", "partial_json": partial}))
        elif "reasoningContent" in delta:
            reasoning = delta["reasoningContent"]
            if "redactedContent" in reasoning:
                events += self._ensure(bedrock_index, "redacted_thinking",
                                       {"type": "redacted_thinking", "data": reasoning["redactedContent"]})
            else:
                events += self._ensure(bedrock_index, "thinking", {"type": "thinking", "thinking": "", "signature": ""})
                if "text" in reasoning:
                    events.append(self._delta_event(bedrock_index, {"type": "thinking_delta", "thinking": reasoning["text"]}))
                if "signature" in reasoning:
                    events.append(self._delta_event(bedrock_index, {"type": "signature_delta",
                                                                    "signature": reasoning["signature"]}))
        return events

    def _ensure(self, bedrock_index: int, block_type: str, block: dict[str, Any]) -> list[Event]:
        if bedrock_index in self._open:
            return []
        return self._open_block(bedrock_index, block_type, block)

    def _delta_event(self, bedrock_index: int, delta: dict[str, Any]) -> Event:
        return {"type": "content_block_delta", "index": self._open[bedrock_index][0], "delta": delta}

    def _block_stop(self, bedrock_index: int) -> list[Event]:
        opened = self._open.pop(bedrock_index, None)
        return [{"type": "content_block_stop", "index": opened[0]}] if opened else []

    def _close_blocks(self) -> list[Event]:
        return [e for i in list(self._open) for e in self._block_stop(i)]

    def _end(self, usage: Mapping[str, Any] | None) -> list[Event]:
        delta = {"stop_reason": self._stop_reason or "end_turn", "stop_sequence": self._stop_sequence}
        return [
            {"type": "message_delta", "delta": delta, "usage": usage_from(usage)},
            {"type": "message_stop"},
        ]


def _payload(frame: EventMessage) -> dict[str, Any]:
    try:
        value = json.loads(frame.payload) if frame.payload else {}
    except ValueError:
        return {"message": frame.payload[:300].decode("utf-8", "replace")}
    return value if isinstance(value, dict) else {}
