"""An instant fake Anthropic upstream for benchmarks: ``python bench/instant_upstream.py [PORT]``.

A bare asyncio HTTP/1.1 server (keep-alive, Content-Length bodies) that answers every POST at once
with a canned response: the real Messages SSE event sequence when the body asks to stream, the
matching JSON message otherwise. It does no JSON parsing and no per-request allocation beyond reading
the body, so it is never what a benchmark measures. Prints ``PORT`` on stdout once listening.
"""

from __future__ import annotations

import asyncio
import json
import sys

TEXT = "The entry point is main.py: it parses the arguments and calls run(), which starts the server."
MODEL = "claude-sonnet-4-5-20250929"


def _sse(event: str, data: dict) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


def canned_stream() -> bytes:
    usage = {"input_tokens": 21000, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 20000,
             "output_tokens": 1}
    message = {"id": "msg_bench", "type": "message", "role": "assistant", "model": MODEL, "content": [],
               "stop_reason": None, "stop_sequence": None, "usage": usage}
    events = [_sse("message_start", {"type": "message_start", "message": message}),
              _sse("content_block_start", {"type": "content_block_start", "index": 0,
                                           "content_block": {"type": "text", "text": ""}}),
              _sse("ping", {"type": "ping"})]
    words = TEXT.split(" ")
    for i in range(0, len(words), 3):
        piece = (" " if i else "") + " ".join(words[i:i + 3])
        events.append(_sse("content_block_delta", {"type": "content_block_delta", "index": 0,
                                                   "delta": {"type": "text_delta", "text": piece}}))
    events += [_sse("content_block_stop", {"type": "content_block_stop", "index": 0}),
               _sse("message_delta", {"type": "message_delta",
                                      "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                                      "usage": {"output_tokens": 24}}),
               _sse("message_stop", {"type": "message_stop"})]
    # Chunked, one chunk per event, as the real API sends it.
    body = b"".join(f"{len(e):x}\r\n".encode() + e + b"\r\n" for e in events) + b"0\r\n\r\n"
    head = (b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream; charset=utf-8\r\n"
            b"request-id: req_bench\r\ncache-control: no-cache\r\ntransfer-encoding: chunked\r\n\r\n")
    return head + body


def canned_json() -> bytes:
    body = json.dumps({"id": "msg_bench", "type": "message", "role": "assistant", "model": MODEL,
                       "content": [{"type": "text", "text": TEXT}], "stop_reason": "end_turn",
                       "stop_sequence": None,
                       "usage": {"input_tokens": 21000, "cache_creation_input_tokens": 0,
                                 "cache_read_input_tokens": 20000, "output_tokens": 24}}).encode()
    return (b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nrequest-id: req_bench\r\n"
            + f"content-length: {len(body)}\r\n\r\n".encode() + body)


STREAM, JSON_REPLY = canned_stream(), canned_json()
OTHER = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}"


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            body = await reader.readexactly(length) if length else b""
            if not head.startswith(b"POST"):
                writer.write(OTHER)
            elif b'"stream":true' in body or b'"stream": true' in body:
                writer.write(STREAM)
            else:
                writer.write(JSON_REPLY)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
        pass
    finally:
        writer.close()


async def main(port: int) -> None:
    server = await asyncio.start_server(handle, "127.0.0.1", port, limit=1 << 20, backlog=1024)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 0))
    except KeyboardInterrupt:
        pass
