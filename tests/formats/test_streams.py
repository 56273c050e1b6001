"""Streaming translation event by event: thinking, tools, usage with cache tokens, errors, no buffering."""

from __future__ import annotations

import json

import pytest

from lynkr_cli.canonical import ModelRequest
from lynkr_cli.formats import codec
from lynkr_cli.formats.events import MessageBuilder
from tests.fakes.anthropic import Turn, sse, stream_events
from tests.fakes.openai import chat_stream, responses_stream
from tests.fakes.ollama import chat_stream as ollama_stream


def decode_all(fmt: str, chunks: list[bytes], bytewise: bool = False) -> list[dict]:
    decoder = codec(fmt).stream_decoder()
    events: list[dict] = []
    for chunk in chunks:
        pieces = [chunk[i:i + 1] for i in range(len(chunk))] if bytewise else [chunk]
        for piece in pieces:
            events += decoder.feed(piece)
    return events + decoder.finish()


def build(events: list[dict]) -> dict:
    builder = MessageBuilder()
    for event in events:
        builder.add(event)
    assert builder.complete and builder.error is None
    return builder.message  # type: ignore[return-value]


TURN = Turn(text="two calls", tool_calls=[("f", {"x": 1}), ("g", {"y": [1, 2]})], input_tokens=50,
            output_tokens=9, cache_read_tokens=1000)


@pytest.mark.parametrize("fmt, chunks", [
    ("anthropic", stream_events(TURN, "m")),
    ("openai-chat", chat_stream(TURN, "m")),
    ("openai-responses", responses_stream(TURN, "m")),
    ("ollama", ollama_stream(Turn(text="two calls", tool_calls=TURN.tool_calls, input_tokens=50, output_tokens=9), "m")),
])
def test_each_upstream_stream_decodes_to_the_same_message_even_byte_by_byte(fmt, chunks):
    whole = build(decode_all(fmt, chunks))
    strip = (lambda blocks: [{k: v for k, v in b.items() if k != "id"} for b in blocks]) if fmt == "ollama" else list
    assert strip(build(decode_all(fmt, chunks, bytewise=True))["content"]) == strip(whole["content"])  # Ollama: new ids
    assert [b["type"] for b in whole["content"]] == ["text", "tool_use", "tool_use"]
    assert whole["content"][0]["text"] == "two calls"
    assert [(b["name"], b["input"]) for b in whole["content"][1:]] == [("f", {"x": 1}), ("g", {"y": [1, 2]})]
    assert whole["stop_reason"] == "tool_use" and whole["usage"]["output_tokens"] == 9
    if fmt != "ollama":
        assert whole["usage"]["input_tokens"] == 50 and whole["usage"]["cache_read_input_tokens"] == 1000


def test_reasoning_becomes_thinking_and_back():
    chunks = [b'data: {"id":"c1","model":"deepseek-r1","choices":[{"index":0,"delta":{"role":"assistant",'
              b'"reasoning_content":"Let me think"}}]}\n\n',
              b'data: {"id":"c1","choices":[{"index":0,"delta":{"content":"42"},"finish_reason":"stop"}]}\n\n',
              b'data: [DONE]\n\n']
    message = build(decode_all("openai-chat", chunks))
    assert message["content"] == [{"type": "thinking", "thinking": "Let me think", "signature": ""},
                                   {"type": "text", "text": "42"}]
    thinking = [sse("message_start", {"type": "message_start", "message": {"id": "msg_1", "model": "claude",
                                                                            "usage": {"input_tokens": 3}}}),
                sse("content_block_start", {"type": "content_block_start", "index": 0,
                                            "content_block": {"type": "thinking", "thinking": ""}}),
                sse("content_block_delta", {"type": "content_block_delta", "index": 0,
                                            "delta": {"type": "thinking_delta", "thinking": "hmm"}}),
                sse("content_block_stop", {"type": "content_block_stop", "index": 0}),
                sse("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn"},
                                      "usage": {"output_tokens": 2}}),
                sse("message_stop", {"type": "message_stop"})]
    events = decode_all("anthropic", thinking)
    request = ModelRequest(body={"stream": True}, inbound="openai-responses")
    encoder = codec("openai-responses").stream_encoder(request)
    out = b"".join(encoder.encode(e) for e in events).decode()
    assert "response.reasoning_summary_text.delta" in out and '"delta":"hmm"' in out
    chat = codec("openai-chat").stream_encoder(ModelRequest(body={"stream": True}, inbound="openai-chat"))
    assert '"reasoning_content":"hmm"' in b"".join(chat.encode(e) for e in events).decode()


def test_translation_is_event_by_event():
    """The first upstream event produces client bytes at once; nothing waits for the end."""
    chunks = chat_stream(Turn(text="hello there world"), "m")
    decoder = codec("openai-chat").stream_decoder()
    encoder = codec("anthropic").stream_encoder(ModelRequest(body={}))
    first = b"".join(encoder.encode(e) for e in decoder.feed(chunks[0]))
    assert b"message_start" in first
    second = b"".join(encoder.encode(e) for e in decoder.feed(chunks[1]))
    assert b'"text_delta"' in second and b"hello" in second


@pytest.mark.parametrize("fmt, error_chunk", [
    ("openai-chat", b'data: {"error":{"message":"context length exceeded","type":"invalid_request_error"}}\n\n'),
    ("ollama", b'{"error":"model requires more system memory"}\n'),
    ("openai-responses", b'event: response.failed\ndata: {"type":"response.failed","response":{"error":'
                         b'{"code":"server_error","message":"context length exceeded"}}}\n\n'),
])
def test_upstream_stream_errors_become_error_events(fmt, error_chunk):
    events = decode_all(fmt, [error_chunk])
    assert events[-1]["type"] == "error"
    assert "memory" in events[-1]["error"]["message"] or "context length" in events[-1]["error"]["message"]
    client = codec("openai-chat").stream_encoder(ModelRequest(body={"stream": True}, inbound="openai-chat"))
    payload = json.loads(client.encode(events[-1]).decode().removeprefix("data: "))
    assert payload["error"]["message"] == events[-1]["error"]["message"]


def test_usage_maps_cache_tokens_both_ways():
    message = codec("openai-chat").decode_message({"id": "c", "model": "m", "choices": [
        {"message": {"role": "assistant", "content": "hi"}, "finish_reason": "length"}],
        "usage": {"prompt_tokens": 1200, "completion_tokens": 5, "prompt_tokens_details": {"cached_tokens": 1000}}})
    assert message["usage"]["input_tokens"] == 200 and message["usage"]["cache_read_input_tokens"] == 1000
    assert message["stop_reason"] == "max_tokens"
    back = codec("openai-responses").encode_message(message, ModelRequest(body={}, inbound="openai-responses"))
    assert back["usage"]["input_tokens"] == 1200 and back["usage"]["input_tokens_details"]["cached_tokens"] == 1000
    assert back["status"] == "incomplete"


@pytest.mark.parametrize("fmt, make", [
    ("anthropic", stream_events), ("openai-chat", chat_stream), ("openai-responses", responses_stream),
    ("ollama", ollama_stream),
], ids=["anthropic", "openai-chat", "openai-responses", "ollama"])
def test_a_large_answer_read_in_64k_pieces_decodes_whole(fmt, make):
    """An answer whose events span many reads (a 4 MB delta, CRLF line ends split across reads)
    decodes to the same message; the line buffer joins each long line once, not once per read."""
    text = "x" * (4 << 20) + " end"
    body = b"".join(make(Turn(text=text, input_tokens=3, output_tokens=2), "m"))
    if fmt != "ollama":
        body = body.replace(b"\n", b"\r\n")
    reads = [body[i:i + 65537] for i in range(0, len(body), 65537)]
    message = build(decode_all(fmt, reads))
    assert message["content"][0]["text"] == text and message["usage"]["output_tokens"] == 2


def test_pass_through_usage_scanner_reads_an_event_spanning_many_reads():
    from lynkr_cli.proxy.usage import AnthropicResponseScanner

    body = b"".join(stream_events(Turn(text="y" * (4 << 20), input_tokens=7, output_tokens=5), "claude-x"))
    scanner = AnthropicResponseScanner()
    scanner.begin(200, "text/event-stream")
    for i in range(0, len(body), 65537):
        scanner.feed(body[i:i + 65537])
    scanner.finish()
    assert (scanner.usage.input_tokens, scanner.usage.output_tokens, scanner.model) == (7, 5, "claude-x")
