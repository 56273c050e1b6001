"""A fake Bedrock runtime: Converse JSON and ConverseStream's binary event stream, as AWS sends them.

Frames are built with the same header set Bedrock uses (``:event-type``, ``:content-type``,
``:message-type``) and the ``p`` padding field it adds to every payload, so a decoder that only works
on tidy input fails here. The SigV4 ``Authorization`` header is checked by the tests, not here.
"""

from __future__ import annotations

import itertools
import json
from typing import Any, Callable

from lynkr_cli.providers.eventstream import encode_message
from tests.fakes.anthropic import Turn
from tests.fakes.server import Received, Reply

_ids = itertools.count(1)
EVENTSTREAM = "application/vnd.amazon.eventstream"


def frame(event_type: str, payload: dict[str, Any]) -> bytes:
    data = dict(payload, p="abcdefghijklmnopqrstuvwxyzABCDEF"[: 4 + len(event_type) % 20])
    headers = {":event-type": event_type, ":content-type": "application/json", ":message-type": "event"}
    return encode_message(headers, json.dumps(data, separators=(",", ":")).encode())


def exception_frame(name: str, message: str) -> bytes:
    headers = {":exception-type": name, ":content-type": "application/json", ":message-type": "exception"}
    return encode_message(headers, json.dumps({"message": message}).encode())


def usage(turn: Turn) -> dict[str, int]:
    return {"inputTokens": turn.input_tokens, "outputTokens": turn.output_tokens,
            "totalTokens": turn.input_tokens + turn.output_tokens,
            "cacheReadInputTokens": turn.cache_read_tokens, "cacheWriteInputTokens": turn.cache_write_tokens}


def converse_json(turn: Turn, reasoning: str = "") -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    if reasoning:
        content.append({"reasoningContent": {"reasoningText": {"text": reasoning, "signature": "sig-1"}}})
    if turn.text:
        content.append({"text": turn.text})
    for name, tool_input in turn.tool_calls:
        content.append({"toolUse": {"toolUseId": f"tooluse_{next(_ids):06d}", "name": name, "input": tool_input}})
    return {"output": {"message": {"role": "assistant", "content": content}},
            "stopReason": turn.stop_reason, "usage": usage(turn), "metrics": {"latencyMs": 12}}


def stream_frames(turn: Turn, reasoning: str = "") -> list[bytes]:
    """The ConverseStream frames for ``turn``: text and reasoning open implicitly with their first
    delta; tool use opens with ``contentBlockStart``; usage comes last, after ``messageStop``."""
    frames = [frame("messageStart", {"role": "assistant"})]
    index = 0
    if reasoning:
        half = len(reasoning) // 2
        for piece in (reasoning[:half], reasoning[half:]):
            frames.append(frame("contentBlockDelta", {"contentBlockIndex": index,
                                                      "delta": {"reasoningContent": {"text": piece}}}))
        frames.append(frame("contentBlockDelta", {"contentBlockIndex": index,
                                                  "delta": {"reasoningContent": {"signature": "sig-1"}}}))
        frames.append(frame("contentBlockStop", {"contentBlockIndex": index}))
        index += 1
    if turn.text:
        words = turn.text.split(" ")
        for i, word in enumerate(words):
            piece = word if i == 0 else " " + word
            frames.append(frame("contentBlockDelta", {"contentBlockIndex": index, "delta": {"text": piece}}))
        frames.append(frame("contentBlockStop", {"contentBlockIndex": index}))
        index += 1
    for name, tool_input in turn.tool_calls:
        frames.append(frame("contentBlockStart", {"contentBlockIndex": index, "start": {
            "toolUse": {"toolUseId": f"tooluse_{next(_ids):06d}", "name": name}}}))
        raw = json.dumps(tool_input)
        for part in (raw[: len(raw) // 2], raw[len(raw) // 2 :]):
            frames.append(frame("contentBlockDelta", {"contentBlockIndex": index, "delta": {"toolUse": {"input": part}}}))
        frames.append(frame("contentBlockStop", {"contentBlockIndex": index}))
        index += 1
    frames.append(frame("messageStop", {"stopReason": turn.stop_reason}))
    frames.append(frame("metadata", {"usage": usage(turn), "metrics": {"latencyMs": 12}}))
    return frames


def reply_for(turn: Turn, request: Received, reasoning: str = "", cut_after: int | None = None) -> Reply:
    """Answer a Converse (JSON) or ConverseStream (event stream) call, chosen by the path."""
    if request.path.split("?")[0].endswith("/converse-stream"):
        return Reply(headers={"content-type": EVENTSTREAM, "x-amzn-requestid": "req-fake"},
                     chunks=stream_frames(turn, reasoning), cut_after=cut_after)
    return Reply(headers={"content-type": "application/json", "x-amzn-requestid": "req-fake"},
                 body=json.dumps(converse_json(turn, reasoning)).encode())


def error_reply(status: int, name: str, message: str) -> Reply:
    return Reply(status=status, headers={"content-type": "application/json", "x-amzn-errortype": f"{name}:http://internal.amazon.com/coral/com.amazon.bedrock/"},
                 body=json.dumps({"message": message}).encode())


def bedrock_handler(respond: Callable[[Received, dict[str, Any]], Reply]) -> Callable[[Received], Reply]:
    """Routes ``POST /model/{id}/converse[-stream]`` to ``respond``; anything else is a 404 as AWS gives."""

    def handle(request: Received) -> Reply:
        path = request.path.split("?")[0]
        if request.method == "POST" and path.startswith("/model/") and path.endswith(("/converse", "/converse-stream")):
            return respond(request, request.json or {})
        return Reply(status=404, headers={"content-type": "application/json"},
                     body=b'{"message":"UnknownOperationException"}')

    return handle
