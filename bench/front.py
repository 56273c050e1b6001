"""What the proxy's front costs per request, in process: ``python bench/front.py [--requests N]``.

The checks every request goes through before its handler (path guard, Host/Origin guard, token,
JSON content type, session-id bound, body budget, connection progress) and the bounded body read
(stall timeout, budget), timed on the real ~77 KB Claude Code body against the same handler called
directly with Starlette's plain ``request.body()``. Interleaved, one event loop, no sockets: the
difference is the front's own CPU time per request, which end-to-end runs on a shared VM cannot
resolve (their noise is larger).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response

from lynkr_cli.proxy.auth import TokenAuthenticator
from lynkr_cli.proxy.front import ProxyFront
from lynkr_cli.proxy.guard import OriginGuard
from lynkr_cli.proxy.intake import read_body

BODY = (Path(__file__).resolve().parent / "data" / "claude_code_request.json").read_bytes()
TOKEN = "Zq8vN3kP0wXr5sT7uY2aB4cD6eF9gH1jK_-LmNoPqRs"
HEADERS = [(b"host", b"127.0.0.1:41234"), (b"accept", b"application/json"), (b"x-stainless-retry-count", b"0"),
           (b"x-stainless-lang", b"js"), (b"anthropic-version", b"2023-06-01"),
           (b"anthropic-beta", b"claude-code-20250219,interleaved-thinking-2025-05-14"),
           (b"x-api-key", b"sk-ant-api03-" + b"x" * 80), (b"x-app", b"cli"), (b"user-agent", b"claude-cli/2.1.197"),
           (b"content-type", b"application/json"), (b"x-claude-code-session-id", b"3f2a9c1e-1b4d-4f60-a5e7-0c5b7d9e2f41"),
           (b"accept-encoding", b"gzip, deflate"), (b"content-length", str(len(BODY)).encode())]


def scope(path: str) -> dict:
    return {"type": "http", "method": "POST", "path": path, "raw_path": path.encode(), "query_string": b"",
            "headers": list(HEADERS), "root_path": "", "http_version": "1.1", "scheme": "http",
            "client": ("127.0.0.1", 5555), "server": ("127.0.0.1", 41234)}


async def main(requests: int) -> None:
    async def through_front(request: Request) -> Response:
        await read_body(request, 32 << 20, 30.0)
        return Response(b"{}")

    async def plain(request: Request) -> Response:
        await request.body()
        return Response(b"{}")

    front = ProxyFront(None, TokenAuthenticator(TOKEN), {"/v1/messages": through_front}, OriginGuard())
    chunks = [BODY[i:i + 65536] for i in range(0, len(BODY), 65536)]

    def receiver():  # the body in 64 KB messages, as Hypercorn delivers it
        queue = [{"type": "http.request", "body": c, "more_body": i < len(chunks) - 1} for i, c in enumerate(chunks)]

        async def receive():
            return queue.pop(0)

        return receive

    async def send(message: dict) -> None:
        pass

    fronted: list[float] = []
    direct: list[float] = []
    for _ in range(requests):
        t0 = time.perf_counter()
        await front(scope(f"/s/{TOKEN}/v1/messages"), receiver(), send)
        t1 = time.perf_counter()
        response = await plain(Request(scope("/v1/messages"), receiver()))
        await response(scope("/v1/messages"), receiver(), send)
        t2 = time.perf_counter()
        fronted.append((t1 - t0) * 1e6)
        direct.append((t2 - t1) * 1e6)
    p50f, p50d = statistics.median(fronted), statistics.median(direct)
    print(f"{requests} requests, {len(BODY)} byte body: through the front p50 {p50f:.1f} us, handler alone "
          f"p50 {p50d:.1f} us, the front adds {p50f - p50d:.1f} us")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=5000)
    asyncio.run(main(parser.parse_args().requests))
