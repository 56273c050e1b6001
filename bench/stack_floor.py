"""Where a proxied request's time goes: the floor of the server + client stack lynkr is built on.

``bench/overhead.py`` measures lynkr against calling the upstream directly. This script answers the
next question, "how much of that is lynkr's own work?", by serving the same real ~77 KB Claude Code
request (streamed answer) through six ASGI apps on the same Hypercorn configuration, one at a time,
against the same instant fake upstream:

- ``hypercorn only``: an app that reads the body and answers a canned 14-event SSE stream itself
  (in three ASGI messages, as the relays below send an instant upstream's answer);
- ``hypercorn + httpx relay``: an app that forwards the body with one shared ``httpx.AsyncClient``
  and relays the streamed answer chunk by chunk (the minimum any proxy on this stack does), once on
  httpx's default client and once on lynkr's own (``UpstreamClient`` in ``lynkr_cli/proxy/upstream.py``);
- ``hypercorn + raw asyncio relay``: the body written on a raw asyncio connection and the chunked
  answer decoded and relayed, with no HTTP client at all: the floor of any Python proxy on Hypercorn;
- ``lynkr pass-through``: lynkr's real app (``--no-optimize``), ledger on a temporary SQLite file;
- ``lynkr full pipeline``: the same with the default optimization stages.

It also times the client half alone: ``httpx`` (both transports) vs a raw asyncio HTTP/1.1 exchange
for the same request. Reported per request: the server process's CPU time (``time.process_time``,
all threads), and the client's wall-clock p50 (a separate process with a raw keep-alive socket
client), also against the same client calling the upstream directly.

    python bench/stack_floor.py [--requests 500]

``--serve-floor UPSTREAM [--server hypercorn|asyncio]`` only serves one floor relay (the raw relay
on Hypercorn, or ``byte_relay`` with no HTTP server at all) and prints its port: ``bench/overhead.py``
runs both as targets, so the floors are measured in the same run and harness as lynkr.

``--serve-lynkr UPSTREAM --transport wire|httpx|aiohttp`` serves lynkr's pass-through app on its own
server (``ProxyServer``) with the given upstream transport for direct connections: lynkr's own
(``proxy/wire.py``), httpx's default, or ``httpx-aiohttp`` (``pip install httpx-aiohttp==0.2.0``),
so ``bench/overhead.py --transport`` compares them in one run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import subprocess
import sys
import tempfile
import time
import ssl
import threading
from pathlib import Path
from typing import Iterator

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from lynkr_cli.proxy.upstream import UpstreamClient, upstream_client  # noqa: E402

BODY = (REPO / "bench" / "data" / "claude_code_request.json").read_bytes()
TOKEN = "bench"

CLIENT = r"""
import socket, statistics, sys, time
port, n, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
body = open(sys.argv[4], 'rb').read()
s = socket.create_connection(('127.0.0.1', port))
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
request = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\ncontent-type: application/json\r\nx-api-key: sk-ant-bench\r\n"
           f"anthropic-version: 2023-06-01\r\ncontent-length: {len(body)}\r\n\r\n").encode() + body
f = s.makefile('rb')
times = []
for _ in range(n):
    t = time.perf_counter()
    s.sendall(request)
    status = f.readline()
    if not status.startswith(b"HTTP/1.1 200"):  # a refusal is fast, and would pass for lynkr's speed
        sys.exit(f"not a 200 answer: {status!r}")
    headers = {}
    while (line := f.readline()) not in (b"\r\n", b""):
        k, _, v = line.decode().partition(":")
        headers[k.strip().lower()] = v.strip()
    if "content-length" in headers:
        f.read(int(headers["content-length"]))
    else:
        while (size := int(f.readline().strip(), 16)):
            f.read(size); f.readline()
        f.readline()
    times.append(time.perf_counter() - t)
print(statistics.median(times) * 1000)
"""


def _lynkr_client() -> UpstreamClient:
    import httpx

    return upstream_client(ssl.create_default_context(), httpx.Limits(), httpx.Timeout(600.0, connect=10.0))


def drain_app(handler, wire: bool = False):  # type: ignore[no-untyped-def]
    """A bare ASGI app around ``handler(body, send)`` with a lifespan that opens an httpx client
    (lynkr's own, ``UpstreamClient`` on its wire transport, if ``wire``; httpx's default otherwise)."""
    state: dict = {}

    async def app(scope, receive, send):  # type: ignore[no-untyped-def]
        if scope["type"] == "lifespan":
            import httpx

            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    state["client"] = (_lynkr_client() if wire else httpx.AsyncClient())
                    await send({"type": "lifespan.startup.complete"})
                else:
                    await state["client"].aclose()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        await handler(state["client"], b"".join(chunks), send)

    return app


async def canned(client, body, send):  # type: ignore[no-untyped-def]
    """The answer as a relay sends an instant upstream's reply: head, all 14 events, end."""
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]})
    await send({"type": "http.response.body", "body": b"event: x\ndata: {}\n\n" * 14, "more_body": True})
    await send({"type": "http.response.body", "body": b"", "more_body": False})


def httpx_relay(upstream: str):  # type: ignore[no-untyped-def]
    async def relay(client, body, send):  # type: ignore[no-untyped-def]
        request = client.build_request("POST", f"{upstream}/v1/messages", content=body,
                                       headers={"content-type": "application/json"})
        response = await client.send(request, stream=True)
        await send({"type": "http.response.start", "status": response.status_code,
                    "headers": [(b"content-type", b"text/event-stream")]})
        async for chunk in response.aiter_raw():
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await response.aclose()
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    return relay


def _content_length(head: bytes) -> int | None:
    """The content-length of an HTTP head, None when it has none (a chunked body)."""
    head = head.lower()
    if b"content-length:" not in head:
        return None
    return int(head.split(b"content-length:")[1].split(b"\r\n")[0])


def raw_relay(upstream: str):  # type: ignore[no-untyped-def]
    """The least any Python proxy on Hypercorn can do: the body written on one kept-alive asyncio
    connection, the answer's head read, its chunked body decoded and sent on as it is read. No HTTP
    client library, no header handling, no error handling: a floor, not a usable proxy."""
    from lynkr_cli.proxy.wire import _ChunkedDecoder

    host, port = upstream.rsplit("/", 1)[-1].split(":")
    idle: list = []  # kept-alive connections, one per concurrent request at most

    async def relay(client, body, send):  # type: ignore[no-untyped-def]
        reader, writer = idle.pop() if idle else await asyncio.open_connection(host, int(port))
        writer.write(b"POST /v1/messages HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
                     b"content-length: %d\r\n\r\n%s" % (len(body), body))
        head = (await reader.readuntil(b"\r\n\r\n")).lower()
        streamed = b"text/event-stream" in head  # the instant upstream: chunked SSE, or JSON with a length
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/event-stream" if streamed else b"application/json")]})
        if streamed:
            decoder = _ChunkedDecoder()
            while not decoder.done:
                data = decoder.feed(await reader.read(65536))
                if data:
                    await send({"type": "http.response.body", "body": data, "more_body": True})
        else:
            length = _content_length(head)
            await send({"type": "http.response.body", "body": await reader.readexactly(length), "more_body": True})
        idle.append((reader, writer))
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    return relay


def byte_relay(upstream: str):  # type: ignore[no-untyped-def]
    """The least any Python proxy can do, with no HTTP server and no HTTP client: each request's head
    and body read by content-length and written upstream as they are, the answer's bytes written back
    as they are read until its chunked (or content-length) body ends. A floor, not a usable proxy."""
    from lynkr_cli.proxy.wire import _ChunkedDecoder

    host, port = upstream.rsplit("/", 1)[-1].split(":")

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(host, int(port), limit=1 << 22)
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                length = _content_length(head) or 0
                up_writer.write(head + await reader.readexactly(length))
                answer = await up_reader.readuntil(b"\r\n\r\n")
                writer.write(answer)
                size = _content_length(answer)
                if size is not None:
                    writer.write(await up_reader.readexactly(size))
                    continue
                decoder = _ChunkedDecoder()
                while not decoder.done:
                    data = await up_reader.read(65536)
                    decoder.feed(data)
                    writer.write(data)
        finally:
            up_writer.close()
            writer.close()

    return handle


def lynkr_app(upstream: str, optimize: bool):  # type: ignore[no-untyped-def]
    from lynkr_cli.assemble import ProxyOptions, ProxySetup, build_app
    from lynkr_cli.config import load_settings
    from lynkr_cli.ledger import Ledger, SessionRecord

    home = tempfile.mkdtemp()
    os.environ["LYNKR_HOME"] = home
    ledger = Ledger(Path(home) / "ledger.sqlite3")
    ledger.start_session(SessionRecord(id="bench", agent="bench", argv=[], cwd="/", started_at=time.time(),
                                       pid=os.getpid(), lynkr_version="bench", upstream=upstream))
    return build_app(load_settings(), ProxyOptions(no_optimize=not optimize), ProxySetup("bench", TOKEN, ledger, upstream))


@contextlib.contextmanager
def instant_upstream() -> Iterator[str]:
    """``bench/instant_upstream.py`` on a free port in its own process; yields its base URL."""
    process = subprocess.Popen([sys.executable, str(REPO / "bench" / "instant_upstream.py"), "0"],
                               stdout=subprocess.PIPE, text=True)
    try:
        yield f"http://127.0.0.1:{int(process.stdout.readline())}"  # type: ignore[union-attr]
    finally:
        process.kill()


async def run_client(port: int, n: int, path: str) -> float:
    """Client wall-clock p50 (ms) of ``n`` sequential requests on one keep-alive connection."""
    body_file = str(REPO / "bench" / "data" / "claude_code_request.json")
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", CLIENT, str(port), str(n), path, body_file,
                                                stdout=subprocess.PIPE)
    out, _ = await proc.communicate()
    return float(out)


async def direct(upstream: str, requests: int) -> float:
    port = int(upstream.rsplit(":", 1)[1])
    await run_client(port, 50, "/v1/messages")
    return await run_client(port, requests, "/v1/messages")


async def serve_and_measure(app, requests: int, path: str) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """(server CPU ms per request, client wall p50 ms) for ``requests`` sequential requests."""
    from hypercorn.asyncio import serve
    from hypercorn.config import Config

    from lynkr_cli.proxy.server import bind_socket

    sock = bind_socket()
    config = Config()
    config.bind = [f"fd://{os.dup(sock.fileno())}"]
    config.accesslog = config.errorlog = None
    stop = asyncio.Event()
    server = asyncio.create_task(serve(app, config, shutdown_trigger=stop.wait))
    await asyncio.sleep(0.3)
    port = sock.getsockname()[1]
    await run_client(port, 50, path)  # warm-up: imports, connection pools, pipeline memo
    cpu = time.process_time()
    p50 = await run_client(port, requests, path)
    cpu_ms = (time.process_time() - cpu) / requests * 1000
    stop.set()
    await server
    sock.close()
    return cpu_ms, p50


async def cpu_ms_per_call(call, requests: int) -> float:  # type: ignore[no-untyped-def]
    """This thread's CPU time per ``await call()``, after 50 warm-up calls (connections, caches)."""
    for _ in range(50):
        await call()
    t = time.thread_time()
    for _ in range(requests):
        await call()
    return (time.thread_time() - t) / requests * 1000


async def client_half(upstream: str, requests: int) -> tuple[float, float, float]:
    """CPU per request of the upstream call alone: httpx's client, lynkr's ``UpstreamClient`` (httpx
    API on the wire transport) and a raw asyncio HTTP/1.1 exchange."""
    import httpx

    async def with_httpx(client: httpx.AsyncClient | UpstreamClient) -> float:
        async with client:
            async def one() -> None:
                request = client.build_request("POST", f"{upstream}/v1/messages", content=BODY,
                                               headers={"content-type": "application/json"})
                response = await client.send(request, stream=True)
                async for _ in response.aiter_raw():
                    pass
                await response.aclose()

            return await cpu_ms_per_call(one, requests)

    httpx_ms = await with_httpx(httpx.AsyncClient())
    wire_ms = await with_httpx(_lynkr_client())

    host, port = upstream.rsplit("/", 1)[-1].split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    head = (f"POST /v1/messages HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
            f"content-length: {len(BODY)}\r\n\r\n").encode()

    async def one_raw() -> None:
        writer.write(head + BODY)
        await writer.drain()
        length = _content_length(await reader.readuntil(b"\r\n\r\n"))
        if length is not None:
            await reader.readexactly(length)
            return
        while size := int((await reader.readline()).strip(), 16):
            await reader.readexactly(size + 2)
        await reader.readline()

    raw_ms = await cpu_ms_per_call(one_raw, requests)
    writer.close()
    return httpx_ms, wire_ms, raw_ms


def aiohttp_transport(ssl_context: ssl.SSLContext, limits):  # type: ignore[no-untyped-def]
    """``httpx-aiohttp``'s transport as a maintained client would configure it for a shared proxy: its
    pool sized like lynkr's, no cookie jar (one session's cookies must not reach another's requests)."""
    import aiohttp
    from httpx_aiohttp import AiohttpTransport

    def session() -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(ssl=ssl_context, limit=limits.max_connections or 0,
                                         keepalive_timeout=limits.keepalive_expiry)
        return aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar())

    return AiohttpTransport(client=session)


def serve_lynkr(upstream: str, transport: str) -> None:
    """lynkr's pass-through app on ``ProxyServer`` (as ``lynkr run`` serves it), direct upstream
    connections on ``transport``; prints the base URL (token included) and serves until killed."""
    from lynkr_cli.proxy.server import ProxyServer, bind_socket
    from lynkr_cli.proxy.upstream import httpx_transport, wire_transport

    factory = {"wire": wire_transport, "httpx": httpx_transport, "aiohttp": aiohttp_transport}[transport]

    def build():  # type: ignore[no-untyped-def]
        app = lynkr_app(upstream, optimize=False)
        app.app.state.ctx.transport = factory
        return app

    server = ProxyServer(bind_socket(), build)
    server.start()
    server.wait_serving(60)
    print(f"{server.url}/s/{TOKEN}", flush=True)
    threading.Event().wait()


async def serve_floor(upstream: str, server: str) -> None:
    """A floor relay as a server process of its own, so ``bench/overhead.py`` measures it in the same
    harness as lynkr: ``hypercorn`` is the raw relay on Hypercorn configured as lynkr's ``ProxyServer``
    configures it; ``asyncio`` has no HTTP server either (``byte_relay``)."""
    from lynkr_cli.proxy.server import bind_socket

    sock = bind_socket()
    if server == "asyncio":
        listener = await asyncio.start_server(byte_relay(upstream), sock=sock, limit=1 << 22)
        print(sock.getsockname()[1], flush=True)
        async with listener:
            await listener.serve_forever()
    from hypercorn.asyncio import serve
    from hypercorn.config import Config

    config = Config()
    config.bind = [f"fd://{os.dup(sock.fileno())}"]
    config.accesslog = config.errorlog = None
    config.keep_alive_timeout = 75
    config.include_server_header = False
    print(sock.getsockname()[1], flush=True)
    await serve(drain_app(raw_relay(upstream)), config)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--serve-floor", metavar="UPSTREAM",
                        help="only serve the raw asyncio relay to UPSTREAM on Hypercorn (lynkr's server "
                             "settings), print its port and wait: bench/overhead.py's floor target")
    parser.add_argument("--server", choices=("hypercorn", "asyncio"), default="hypercorn",
                        help="with --serve-floor: Hypercorn and the raw relay, or a bare asyncio byte relay")
    parser.add_argument("--serve-lynkr", metavar="UPSTREAM",
                        help="only serve lynkr's pass-through app to UPSTREAM, print its URL and wait")
    parser.add_argument("--transport", choices=("wire", "httpx", "aiohttp"), default="wire",
                        help="with --serve-lynkr: the transport of direct upstream connections")
    args = parser.parse_args()
    if args.serve_lynkr:
        serve_lynkr(args.serve_lynkr, args.transport)
        return
    if args.serve_floor:
        asyncio.run(serve_floor(args.serve_floor, args.server))
        return
    with instant_upstream() as upstream:
        print(f"{platform.node()} · {os.cpu_count()} cores · Python {platform.python_version()} · "
              f"load {os.getloadavg()[0]:.2f} · {len(BODY):,}-byte Claude Code body, streamed answer, "
              f"{args.requests} sequential requests")
        base = asyncio.run(direct(upstream, args.requests))
        print("\n| server | CPU ms / request | client p50 ms | added to direct |\n|---|---:|---:|---:|")
        print(f"| direct (no proxy) | – | {base:.2f} | – |")
        cases = [
            ("hypercorn only (canned answer)", lambda: drain_app(canned), "/v1/messages"),
            ("hypercorn + httpx relay", lambda: drain_app(httpx_relay(upstream)), "/v1/messages"),
            ("hypercorn + lynkr's upstream client relay", lambda: drain_app(httpx_relay(upstream), wire=True),
             "/v1/messages"),
            ("hypercorn + raw asyncio relay (the floor)", lambda: drain_app(raw_relay(upstream)), "/v1/messages"),
            ("lynkr pass-through", lambda: lynkr_app(upstream, optimize=False), f"/s/{TOKEN}/v1/messages?beta=true"),
            ("lynkr full pipeline", lambda: lynkr_app(upstream, optimize=True), f"/s/{TOKEN}/v1/messages?beta=true"),
        ]
        for label, build, path in cases:
            cpu_ms, p50 = asyncio.run(serve_and_measure(build(), args.requests, path))
            print(f"| {label} | {cpu_ms:.2f} | {p50:.2f} | {p50 - base:+.2f} |")
        httpx_ms, wire_ms, raw_ms = asyncio.run(client_half(upstream, args.requests))
        print(f"\nupstream call alone, CPU per request: httpx {httpx_ms:.2f} ms · lynkr's UpstreamClient "
              f"{wire_ms:.2f} ms · raw asyncio HTTP/1.1 {raw_ms:.2f} ms")


if __name__ == "__main__":
    main()
