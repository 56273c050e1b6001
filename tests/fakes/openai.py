"""A fake OpenAI API: Chat Completions and Responses, JSON and SSE, exactly as the API shapes them.

Answers are described with ``tests.fakes.anthropic.Turn`` (text, tool calls, usage), so one test can
script the same turn for every upstream format.
"""

from __future__ import annotations

import itertools
import json
from typing import Any, Callable

from tests.fakes.anthropic import Turn
from tests.fakes.server import Received, Reply

_ids = itertools.count(1)


def _sse(data: Any, event: str | None = None) -> bytes:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data) if not isinstance(data, str) else data}\n\n".encode()


def _usage_chat(turn: Turn) -> dict[str, Any]:
    prompt = turn.input_tokens + turn.cache_read_tokens
    return {"prompt_tokens": prompt, "completion_tokens": turn.output_tokens,
            "total_tokens": prompt + turn.output_tokens, "prompt_tokens_details": {"cached_tokens": turn.cache_read_tokens}}


def _calls(turn: Turn) -> list[tuple[str, str, str]]:
    return [(f"call_{next(_ids):06d}", name, json.dumps(args)) for name, args in turn.tool_calls]


def chat_json(turn: Turn, model: str) -> dict[str, Any]:
    calls = _calls(turn)
    message: dict[str, Any] = {"role": "assistant", "content": turn.text or None, "refusal": None}
    if calls:
        message["tool_calls"] = [{"id": i, "type": "function", "function": {"name": n, "arguments": a}} for i, n, a in calls]
    return {"id": f"chatcmpl-{next(_ids)}", "object": "chat.completion", "created": 1700000000,
            "model": turn.model or model,
            "choices": [{"index": 0, "message": message, "logprobs": None,
                         "finish_reason": "tool_calls" if calls else "stop"}],
            "usage": _usage_chat(turn)}


def chat_stream(turn: Turn, model: str) -> list[bytes]:
    cid = f"chatcmpl-{next(_ids)}"
    model = turn.model or model

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
        return _sse({"id": cid, "object": "chat.completion.chunk", "created": 1700000000, "model": model,
                     "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}], **extra})

    out = [chunk({"role": "assistant", "content": ""})]
    for i, word in enumerate(turn.text.split(" ") if turn.text else []):
        out.append(chunk({"content": word if i == 0 else " " + word}))
    calls = _calls(turn)
    for position, (call_id, name, args) in enumerate(calls):
        out.append(chunk({"tool_calls": [{"index": position, "id": call_id, "type": "function",
                                          "function": {"name": name, "arguments": ""}}]}))
        for part in (args[: len(args) // 2], args[len(args) // 2 :]):
            out.append(chunk({"tool_calls": [{"index": position, "function": {"arguments": part}}]}))
    out.append(chunk({}, "tool_calls" if calls else "stop"))
    out.append(_sse({"id": cid, "object": "chat.completion.chunk", "created": 1700000000, "model": model,
                     "choices": [], "usage": _usage_chat(turn)}))
    out.append(b"data: [DONE]\n\n")
    return out


def _usage_responses(turn: Turn) -> dict[str, Any]:
    prompt = turn.input_tokens + turn.cache_read_tokens
    return {"input_tokens": prompt, "input_tokens_details": {"cached_tokens": turn.cache_read_tokens},
            "output_tokens": turn.output_tokens, "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": prompt + turn.output_tokens}


def _output(turn: Turn) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    if turn.text:
        items.append({"id": f"msg_{next(_ids)}", "type": "message", "status": "completed", "role": "assistant",
                      "content": [{"type": "output_text", "text": turn.text, "annotations": []}]})
    for call_id, name, args in _calls(turn):
        items.append({"id": f"fc_{next(_ids)}", "type": "function_call", "status": "completed", "call_id": call_id,
                      "name": name, "arguments": args})
    return items


def responses_json(turn: Turn, model: str, output: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"id": f"resp_{next(_ids)}", "object": "response", "created_at": 1700000000, "status": "completed",
            "error": None, "incomplete_details": None, "model": turn.model or model,
            "output": _output(turn) if output is None else output, "parallel_tool_calls": True,
            "tool_choice": "auto", "tools": [], "usage": _usage_responses(turn)}


def responses_stream(turn: Turn, model: str) -> list[bytes]:
    seq = itertools.count()
    output = _output(turn)
    final = responses_json(turn, model, output)
    created = dict(final, status="in_progress", output=[], usage=None)

    def ev(name: str, **data: Any) -> bytes:
        return _sse({"type": name, "sequence_number": next(seq), **data}, event=name)

    out = [ev("response.created", response=created), ev("response.in_progress", response=created)]
    for index, item in enumerate(output):
        if item["type"] == "message":
            out.append(ev("response.output_item.added", output_index=index, item=dict(item, content=[], status="in_progress")))
            out.append(ev("response.content_part.added", item_id=item["id"], output_index=index, content_index=0,
                          part={"type": "output_text", "text": "", "annotations": []}))
            for i, word in enumerate(turn.text.split(" ")):
                out.append(ev("response.output_text.delta", item_id=item["id"], output_index=index, content_index=0,
                              delta=word if i == 0 else " " + word, logprobs=[]))
            out.append(ev("response.output_text.done", item_id=item["id"], output_index=index, content_index=0,
                          text=turn.text, logprobs=[]))
            out.append(ev("response.content_part.done", item_id=item["id"], output_index=index, content_index=0,
                          part=item["content"][0]))
        else:
            out.append(ev("response.output_item.added", output_index=index,
                          item=dict(item, arguments="", status="in_progress")))
            args = item["arguments"]
            for part in (args[: len(args) // 2], args[len(args) // 2 :]):
                out.append(ev("response.function_call_arguments.delta", item_id=item["id"], output_index=index,
                              delta=part))
            out.append(ev("response.function_call_arguments.done", item_id=item["id"], output_index=index,
                          arguments=args))
        out.append(ev("response.output_item.done", output_index=index, item=item))
    out.append(ev("response.completed", response=final))
    return out


def openai_error(status: int, message: str, error_type: str = "invalid_request_error") -> Reply:
    body = json.dumps({"error": {"message": message, "type": error_type, "param": None, "code": None}}).encode()
    return Reply(status=status, headers={"content-type": "application/json"}, body=body)


def openai_handler(respond: Callable[[Received, dict[str, Any]], Turn | Reply]) -> Callable[[Received], Reply]:
    """Answers ``/chat/completions`` and ``/responses`` (any base path) with the turn ``respond`` gives."""

    def handle(request: Received) -> Reply:
        path = request.path.split("?", 1)[0]
        body = request.json or {}
        if request.method == "GET" and path.endswith("/models"):
            data = {"object": "list", "data": [{"id": "gpt-test", "object": "model", "created": 1, "owned_by": "fake"}]}
            return Reply(headers={"content-type": "application/json"}, body=json.dumps(data).encode())
        if request.method != "POST" or not path.endswith(("/chat/completions", "/responses")):
            return Reply(status=404, headers={"content-type": "application/json"}, body=b'{"error":"not found"}')
        turn = respond(request, body)
        if isinstance(turn, Reply):
            return turn
        model = body.get("model", "gpt-test")
        chat = path.endswith("/chat/completions")
        if body.get("stream"):
            chunks = chat_stream(turn, model) if chat else responses_stream(turn, model)
            return Reply(headers={"content-type": "text/event-stream", "x-request-id": "req_fake"}, chunks=chunks)
        payload = chat_json(turn, model) if chat else responses_json(turn, model)
        return Reply(headers={"content-type": "application/json", "x-request-id": "req_fake"},
                     body=json.dumps(payload).encode())

    return handle
