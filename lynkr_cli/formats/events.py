"""Canonical events <-> one canonical message: for clients and upstreams that disagree on streaming.

``message_events`` replays a complete message as the stream the Anthropic API would have sent (a
cached answer, or an upstream that answered JSON to a streaming request). ``MessageBuilder`` folds a
stream back into one message (a non-streaming client, the response cache).
"""

from __future__ import annotations

import json
from typing import Any

from lynkr_cli.formats.base import Event


def message_events(message: dict[str, Any]) -> list[Event]:
    start = {k: v for k, v in message.items() if k not in ("content", "stop_reason")}
    start.update(content=[], stop_reason=None)
    usage = dict(message.get("usage") or {})
    start["usage"] = {**usage, "output_tokens": 0}
    events: list[Event] = [{"type": "message_start", "message": start}]
    for index, block in enumerate(message.get("content") or []):
        kind = block.get("type")
        if kind == "text":
            events.append({"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}})
            events.append({"type": "content_block_delta", "index": index,
                           "delta": {"type": "text_delta", "text": block.get("text", "")}})
        elif kind == "tool_use":
            events.append({"type": "content_block_start", "index": index,
                           "content_block": {**block, "input": {}}})
            events.append({"type": "content_block_delta", "index": index, "delta": {
                "type": "input_json_delta", "partial_json": json.dumps(block.get("input") or {}, ensure_ascii=False)}})
        elif kind == "thinking":
            events.append({"type": "content_block_start", "index": index,
                           "content_block": {"type": "thinking", "thinking": "", "signature": ""}})
            events.append({"type": "content_block_delta", "index": index,
                           "delta": {"type": "thinking_delta", "thinking": block.get("thinking", "")}})
            if block.get("signature"):
                events.append({"type": "content_block_delta", "index": index,
                               "delta": {"type": "signature_delta", "signature": block["signature"]}})
        else:
            events.append({"type": "content_block_start", "index": index, "content_block": block})
        events.append({"type": "content_block_stop", "index": index})
    events.append({"type": "message_delta",
                   "delta": {"stop_reason": message.get("stop_reason"), "stop_sequence": message.get("stop_sequence")},
                   "usage": usage})
    events.append({"type": "message_stop"})
    return events


class MessageBuilder:
    """Accumulates canonical events into the message they describe."""

    def __init__(self) -> None:
        self.message: dict[str, Any] | None = None
        self.error: dict[str, Any] | None = None
        self.complete = False
        self._partial: dict[int, str] = {}

    def add(self, event: Event) -> None:
        kind = event.get("type")
        if kind == "message_start":
            self.message = dict(event.get("message") or {})
            self.message["content"] = []
            self.message["usage"] = dict(self.message.get("usage") or {})
        elif self.message is None:
            if kind == "error":
                self.error = event.get("error") or {}
            return
        elif kind == "content_block_start":
            block = dict(event.get("content_block") or {})
            index = event.get("index", len(self.message["content"]))
            while len(self.message["content"]) <= index:
                self.message["content"].append({})
            self.message["content"][index] = block
        elif kind == "content_block_delta":
            index = event.get("index", 0)
            if index >= len(self.message["content"]):
                return
            block = self.message["content"][index]
            delta = event.get("delta") or {}
            dtype = delta.get("type")
            if dtype == "text_delta":
                block["text"] = block.get("text", "") + delta.get("text", "")
            elif dtype == "input_json_delta":
                self._partial[index] = self._partial.get(index, "") + delta.get("partial_json", "")
            elif dtype == "thinking_delta":
                block["thinking"] = block.get("thinking", "") + delta.get("thinking", "")
            elif dtype == "signature_delta":
                block["signature"] = delta.get("signature", "")
        elif kind == "content_block_stop":
            index = event.get("index", 0)
            if index in self._partial and index < len(self.message["content"]):
                try:
                    self.message["content"][index]["input"] = json.loads(self._partial.pop(index) or "{}")
                except ValueError:
                    self.message["content"][index]["input"] = {}
        elif kind == "message_delta":
            delta = event.get("delta") or {}
            self.message["stop_reason"] = delta.get("stop_reason")
            self.message["stop_sequence"] = delta.get("stop_sequence")
            self.message["usage"].update({k: v for k, v in (event.get("usage") or {}).items() if v is not None})
        elif kind == "message_stop":
            self.complete = True
        elif kind == "error":
            self.error = event.get("error") or {}
