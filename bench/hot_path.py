"""Where lynkr's pass-through time above its server's floor goes, part by part.

    python bench/hot_path.py [--requests 400] [--rounds 3] [--required] [--variants "NAME;NAME..."]

``bench/overhead.py`` compares lynkr with the floor of its server stack (Hypercorn around a raw asyncio
relay, ``stack_floor.py``). This script takes lynkr's pass-through app apart in the same harness as
that floor (``stack_floor.serve_and_measure``: Hypercorn in this process, a keep-alive socket client
in another, the same ~77 KB Claude Code body and instant fake upstream), removing one part at a time:

- ``floor``: the raw relay, no HTTP client, no accounting, no error handling;
- ``lynkr pass-through``: lynkr's app as ``lynkr run --no-optimize`` builds it (ledger on SQLite,
  status-line listener, prices, loop guard);
- ``- ledger and listeners``: no ledger row, no listener (the row's work is then never done);
- ``- body parse``: also no JSON parse of the 77 KB body (a canned small request stands in for it,
  the client's bytes still go upstream);
- ``- usage scanner``: also no reading of the answer for usage and errors.

What is left after the last line is the request path itself: the front (token, origin guard, limits),
Starlette's request object, the upstream request and response objects, the disconnect watcher, and
the response head Hypercorn validates header by header (lynkr relays the upstream's headers; the
floor sends one). Rounds interleave the variants so machine noise hits all alike; each cell is the
median over rounds. Not a usable proxy in any variant but the second: a measurement, not a mode.

``--required`` builds the other way, up from the floor: its raw relay with lynkr's required behaviours
added one at a time (``floor + front``, ``+ relayed headers``, ``+ usage scanner``, ``+ ledger row``,
``+ request read``, ``+ default pipeline``; see ``_required``), the least any implementation of
lynkr adds on this server. ``lynkr full pipeline`` (lynkr as ``lynkr run`` builds it by default) can
be named in ``--variants`` beside any of them.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))
sys.path.insert(0, str(BENCH))
import stack_floor  # noqa: E402

VARIANTS = ("floor", "lynkr pass-through", "- ledger and listeners", "- body parse", "- usage scanner")
# The floor with only what any lynkr pass-through must do, added one at a time (``--required``).
FULL = "lynkr full pipeline"  # lynkr as ``lynkr run`` builds it by default (``--variants`` only)
REQUIRED = ("floor", "floor + front", "+ relayed headers", "+ usage scanner", "+ ledger row", "+ request read",
            "+ default pipeline")


def _app(upstream: str, variant: str) -> Any:
    from lynkr_cli.assemble import ProxyOptions, ProxySetup, build_context
    from lynkr_cli.config import load_settings
    from lynkr_cli.ledger import Ledger, SessionRecord
    from lynkr_cli.proxy import flow
    from lynkr_cli.proxy.answers import NullScanner, Readers, readers_for
    from lynkr_cli.proxy.app import create_app
    from lynkr_cli.proxy.intake import parse_body

    if variant == "floor":
        return stack_floor.drain_app(stack_floor.raw_relay(upstream))
    if variant in REQUIRED:
        return _required(upstream, REQUIRED.index(variant))
    home = tempfile.mkdtemp()
    os.environ["LYNKR_HOME"] = home
    ledger = Ledger(Path(home) / "ledger.sqlite3")
    ledger.start_session(SessionRecord(id="bench", agent="bench", argv=[], cwd="/", started_at=time.time(),
                                       pid=os.getpid(), lynkr_version="bench", upstream=upstream))
    ctx = build_context(load_settings(), ProxyOptions(no_optimize=variant != FULL),
                        ProxySetup("bench", stack_floor.TOKEN, ledger, upstream))
    if variant == FULL:
        return create_app(ctx)
    rank = VARIANTS.index(variant)
    if rank >= 2:
        ctx.ledger = None
        ctx.listeners.clear()

    async def canned_parse(request: Any, body: bytes) -> dict[str, Any]:
        return {"model": "claude-sonnet-4-5", "stream": True, "max_tokens": 10,
                "messages": [{"role": "user", "content": "x"}]}

    flow.parse_body = canned_parse if rank >= 3 else parse_body  # type: ignore[assignment]
    flow.readers_for = (lambda *a: Readers(NullScanner())) if rank >= 4 else readers_for  # type: ignore[assignment]
    return create_app(ctx)


def _required(upstream: str, parts: int) -> Any:
    """The floor's raw relay with the first ``parts`` of lynkr's required behaviours: the front (token,
    Host/Origin guard, body budget), the upstream's response headers relayed (less hop-by-hop ones)
    instead of one, the answer read for usage, a ledger row on SQLite with the status-line listener,
    the request read before it is sent (parsed, decoded and checked by the loop guard, which the
    model, stream flag and route of the row also come from), and the default pipeline's stages run
    over it. No HTTP client objects, no error handling: the least any implementation of lynkr's
    pass-through (through "+ request read") or full pipeline (all) adds on this server."""
    from lynkr_cli.assemble import ProxyOptions, ProxySetup, build_context
    from lynkr_cli.config import load_settings
    from lynkr_cli.ledger import Ledger, RequestRecord, SessionRecord
    from lynkr_cli.proxy.auth import authenticator_for
    from lynkr_cli.proxy.front import ProxyFront
    from lynkr_cli.proxy.guard import OriginGuard
    from lynkr_cli.proxy.usage import AnthropicResponseScanner
    from lynkr_cli.proxy.wire import _ChunkedDecoder

    home = tempfile.mkdtemp()
    os.environ["LYNKR_HOME"] = home
    ledger = Ledger(Path(home) / "ledger.sqlite3")
    ledger.start_session(SessionRecord(id="bench", agent="bench", argv=[], cwd="/", started_at=time.time(),
                                       pid=os.getpid(), lynkr_version="bench", upstream=upstream))
    ctx = build_context(load_settings(), ProxyOptions(no_optimize=parts < 6),
                        ProxySetup("bench", stack_floor.TOKEN, ledger, upstream))
    from lynkr_cli.formats import codec
    from lynkr_cli.formats.jsonio import parse_json_object
    from lynkr_cli.pipeline.hook import run_pipeline

    anthropic = codec("anthropic")
    host, port = upstream.rsplit("/", 1)[-1].split(":")
    idle: list[Any] = []
    hop = {b"content-length", b"connection", b"keep-alive", b"transfer-encoding", b"server", b"date"}

    async def relay(client: Any, body: bytes, send: Any) -> None:
        record = RequestRecord(session_id="bench", started_at=time.time(), route="/v1/messages",
                               inbound_format="anthropic", request_bytes=len(body), provider="anthropic")
        if parts >= 5:
            request = anthropic.decode_request(parse_json_object(body), body)
            record.model_requested, record.streamed = request.model, request.stream
            ctx.loop_guard.inspect(request, record)
            if parts >= 6 and ctx.pipeline is not None:
                body = run_pipeline(ctx.pipeline, request, {}, record, "bench").wire_bytes()
        reader, writer = idle.pop() if idle else await asyncio.open_connection(host, int(port))
        writer.write(b"POST /v1/messages HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
                     b"content-length: %d\r\n\r\n%s" % (len(body), body))
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")[1:-2]
        pairs = [(name.strip().lower(), value.strip()) for name, _, value in (line.partition(b":") for line in lines)]
        streamed = b"text/event-stream" in head
        if parts >= 2:
            headers = [(k, v) for k, v in pairs if k not in hop]
        else:
            headers = [(b"content-type", b"text/event-stream" if streamed else b"application/json")]
        scanner = AnthropicResponseScanner() if parts >= 3 else None
        if scanner is not None:
            scanner.begin(200, "text/event-stream" if streamed else "application/json", pairs)
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        if streamed:
            decoder = _ChunkedDecoder()
            while not decoder.done:
                data = decoder.feed(await reader.read(65536))
                if data:
                    if scanner is not None:
                        scanner.feed(data)
                    await send({"type": "http.response.body", "body": data, "more_body": True})
        else:
            data = await reader.readexactly(int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0]))
            if scanner is not None:
                scanner.feed(data)
            await send({"type": "http.response.body", "body": data, "more_body": True})
        idle.append((reader, writer))
        if parts >= 4 and scanner is not None:
            scanner.finish()
            record.status, record.model_used = 200, scanner.model
            record.input_tokens, record.output_tokens = scanner.usage.input_tokens, scanner.usage.output_tokens
            ctx.record(record)
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    app = stack_floor.drain_app(relay)
    return ProxyFront(app, authenticator_for(stack_floor.TOKEN), {}, OriginGuard()) if parts >= 1 else app


async def _serve_and_measure(app: Any, requests: int, path: str) -> tuple[float, float]:
    """``stack_floor.serve_and_measure`` with a pause after the warm-up: the work an app starts after
    its first answer (price catalogue, housekeeping) ends before the measured requests."""
    from hypercorn.asyncio import serve
    from hypercorn.config import Config

    from lynkr_cli.proxy.server import bind_socket

    sock = bind_socket()
    config = Config()
    config.bind = [f"fd://{os.dup(sock.fileno())}"]
    config.accesslog = config.errorlog = None
    config.keep_alive_timeout = 75
    config.include_server_header = False
    stop = asyncio.Event()
    server = asyncio.create_task(serve(app, config, shutdown_trigger=stop.wait))
    await asyncio.sleep(0.3)
    port = sock.getsockname()[1]
    await stack_floor.run_client(port, 50, path)
    await asyncio.sleep(1.5)
    cpu = time.process_time()
    p50 = await stack_floor.run_client(port, requests, path)
    cpu_ms = (time.process_time() - cpu) / requests * 1000
    stop.set()
    await server
    sock.close()
    return cpu_ms, p50


async def _measure(upstream: str, requests: int, rounds: int,
                   variants: tuple[str, ...] = VARIANTS) -> dict[str, list[tuple[float, float]]]:
    results: dict[str, list[tuple[float, float]]] = {v: [] for v in variants}
    for round_ in range(rounds):
        base = await stack_floor.direct(upstream, requests)
        order = variants[round_ % len(variants):] + variants[:round_ % len(variants)]  # noise spread over all
        for variant in order:
            path = "/v1/messages" if variant == "floor" else f"/s/{stack_floor.TOKEN}/v1/messages?beta=true"
            cpu_ms, p50 = await _serve_and_measure(_app(upstream, variant), requests, path)
            results[variant].append((cpu_ms, p50 - base))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--required", action="store_true",
                        help="the floor plus lynkr's required behaviours instead of lynkr less its parts")
    parser.add_argument("--variants", help="variant names to run, separated by ';' (default: all of the set)")
    args = parser.parse_args()
    variants = REQUIRED if args.required else VARIANTS
    if args.variants:
        variants = tuple(v for v in (*VARIANTS, FULL, *REQUIRED[1:]) if v in args.variants.split(";"))
    with stack_floor.instant_upstream() as upstream:
        print(f"{os.cpu_count()} cores · Python {platform.python_version()} · load {os.getloadavg()[0]:.2f} · "
              f"{len(stack_floor.BODY):,}-byte Claude Code body, streamed answer, {args.requests} sequential "
              f"requests per cell, {args.rounds} rounds (medians)")
        results = asyncio.run(_measure(upstream, args.requests, args.rounds, variants))
    floor = statistics.median(added for _, added in results["floor"])
    print("\n| variant | server CPU ms / request | added p50 ms | × floor |\n|---|---:|---:|---:|")
    for variant, cells in results.items():
        cpu = statistics.median(c for c, _ in cells)
        added = statistics.median(a for _, a in cells)
        print(f"| {variant} | {cpu:.2f} | {added:+.2f} | {added / floor:.2f} |")


if __name__ == "__main__":
    main()
