"""lynkr's upstream transport (HTTP/1.1 on asyncio streams) against real sockets on loopback.

Each test runs a small asyncio server that answers with exact bytes, so framing cases the real
providers use (chunked SSE, Content-Length JSON, a body ended by closing the connection) and the
faults they produce (cut bodies, garbage, silence) are reproduced byte for byte.
"""

from __future__ import annotations

import asyncio
import random
import socket
import ssl
from typing import Awaitable, Callable

import httpx
import pytest

from lynkr_cli.proxy.wire import WireTransport, _ChunkedDecoder

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def _read_request(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    """One request: head and body (Content-Length or chunked)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lower = head.lower()
    if b"content-length:" in lower:
        length = int(lower.split(b"content-length:")[1].split(b"\r\n")[0])
        return head, await reader.readexactly(length)
    body = b""
    if b"transfer-encoding: chunked" in lower:
        while size := int((await reader.readline()).strip(), 16):
            body += await reader.readexactly(size)
            await reader.readline()
        await reader.readline()
    return head, body


class Upstream:
    """A loopback server; ``answers`` are written in order, one per request, on any connection."""

    def __init__(self, answers: list[bytes], close_after: bool = False) -> None:
        self.answers = answers
        self.close_after = close_after
        self.connections = 0
        self.alpn: list[str | None] = []
        self.requests: list[tuple[bytes, bytes]] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        tls = writer.get_extra_info("ssl_object")
        if tls is not None:
            self.alpn.append(tls.selected_alpn_protocol())
        try:
            while True:
                self.requests.append(await _read_request(reader))
                answer = self.answers[min(len(self.requests), len(self.answers)) - 1]
                if answer == b"SILENCE":
                    await asyncio.sleep(30)
                writer.write(answer)
                await writer.drain()
                if self.close_after:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def __aenter__(self) -> str:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def __aexit__(self, *exc: object) -> None:
        self.server.close()


def _client(**limits: object) -> httpx.AsyncClient:
    transport = WireTransport(ssl.create_default_context(), httpx.Limits(**limits))  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=transport, timeout=httpx.Timeout(5.0, read=1.0))


def _chunked(*parts: bytes) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"


SSE = [b"event: message_start\ndata: {}\n\n", b"event: ping\ndata: {}\n\n", b"event: message_stop\ndata: {}\n\n"]
STREAM = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n" + _chunked(*SSE)
JSON = b'{"type":"message"}'
FIXED = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s" % (len(JSON), JSON)


def run(coro: Awaitable[object]) -> object:
    return asyncio.run(coro)  # type: ignore[arg-type]


def test_sequential_requests_share_one_connection_and_bodies_arrive_whole():
    async def main() -> None:
        upstream = Upstream([STREAM, FIXED])
        async with upstream as url, _client() as client:
            streamed = await client.post(f"{url}/v1/messages?beta=true", content=b'{"stream":true}',
                                         headers={"x-api-key": "sk-test", "anthropic-version": "2023-06-01"})
            fixed = await client.post(f"{url}/v1/messages", content=b"{}")
        assert streamed.status_code == 200 and streamed.content == b"".join(SSE)
        assert streamed.headers["content-type"] == "text/event-stream"
        assert fixed.json() == {"type": "message"}
        assert upstream.connections == 1
        head, body = upstream.requests[0]
        assert head.startswith(b"POST /v1/messages?beta=true HTTP/1.1\r\n")
        assert b"x-api-key: sk-test\r\n" in head and body == b'{"stream":true}'

    run(main())


def test_concurrent_requests_get_their_own_connections_and_all_are_reused_after():
    async def main() -> None:
        upstream = Upstream([FIXED])
        async with upstream as url, _client(max_keepalive_connections=8) as client:
            replies = await asyncio.gather(*(client.post(url, content=b"{}") for _ in range(6)))
            opened = upstream.connections
            await asyncio.gather(*(client.post(url, content=b"{}") for _ in range(6)))
        assert all(r.json() == {"type": "message"} for r in replies)
        assert upstream.connections == opened  # the second wave reused the first wave's connections

    run(main())


def test_a_body_ended_by_closing_the_connection_is_read_whole_and_not_reused():
    async def main() -> None:
        answer = b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\nuntil the end"
        upstream = Upstream([answer], close_after=True)
        async with upstream as url, _client() as client:
            first = await client.post(url, content=b"{}")
            second = await client.post(url, content=b"{}")
        assert first.text == second.text == "until the end"
        assert upstream.connections == 2

    run(main())


def test_connection_close_interim_answers_and_head_requests():
    async def main() -> None:
        closing = b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 2\r\n\r\nok"
        interim = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\ncontent-length: 4\r\n\r\ndone"
        upstream = Upstream([closing, interim])
        async with upstream as url, _client() as client:
            assert (await client.post(url, content=b"{}")).text == "ok"
            created = await client.post(url, content=b"{}")
        assert created.status_code == 201 and created.text == "done"
        assert upstream.connections == 2  # "connection: close" was honoured

        head_only = Upstream([b"HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n", FIXED])
        async with head_only as url, _client() as client:
            assert (await client.head(url)).content == b""
            assert (await client.post(url, content=b"{}")).json() == {"type": "message"}
        assert head_only.connections == 1

    run(main())


def test_a_connection_the_upstream_closed_while_idle_is_not_reused():
    async def main() -> None:
        upstream = Upstream([FIXED], close_after=True)  # closes without saying so in a header
        async with upstream as url, _client() as client:
            for _ in range(3):
                assert (await client.post(url, content=b"{}")).json() == {"type": "message"}
                await asyncio.sleep(0.05)  # the FIN reaches the client before the next request
        assert upstream.connections == 3

    run(main())


def test_a_streamed_request_body_is_sent_chunked():
    async def main() -> None:
        async def parts():  # type: ignore[no-untyped-def]
            yield b'{"a":'
            yield b"1}"

        upstream = Upstream([FIXED])
        async with upstream as url, _client() as client:
            await client.post(url, content=parts())
        head, body = upstream.requests[0]
        assert b"transfer-encoding: chunked" in head.lower() and body == b'{"a":1}'

    run(main())


@pytest.mark.parametrize(
    "answer, error, detail",
    [
        (b"", httpx.RemoteProtocolError, "without sending a response"),
        (b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nshort", httpx.RemoteProtocolError, "5 bytes missing"),
        (b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n", httpx.RemoteProtocolError,
         "incomplete chunked read"),
        (b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", httpx.RemoteProtocolError,
         "bad chunk size"),
        (b"<html>nope</html>\r\n\r\n", httpx.RemoteProtocolError, "not an HTTP/1.x response"),
        (b"HTTP/1.1 200 OK\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\nab", httpx.RemoteProtocolError,
         "invalid content-length"),
        (b"SILENCE", httpx.ReadTimeout, "no answer from the upstream"),
    ],
    ids=["closed", "short-body", "cut-chunks", "bad-chunk-size", "not-http", "two-lengths", "silent"],
)
def test_faults_raise_httpx_errors_and_give_the_slot_back(answer: bytes, error: type, detail: str):
    async def main() -> None:
        upstream = Upstream([answer, FIXED], close_after=True)
        async with upstream as url, _client(max_connections=1) as client:
            with pytest.raises(error) as caught:
                await client.post(url, content=b"{}")
            assert detail in str(caught.value)
            # The only connection slot was released: the next request goes through.
            assert (await client.post(url, content=b"{}")).json() == {"type": "message"}

    run(main())


def test_refused_and_unresolvable_upstreams_are_connect_errors():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]

    async def main() -> None:
        async with _client(max_connections=1) as client:
            for url in (f"http://127.0.0.1:{closed}/v1/messages", "http://api.lynkr-test.invalid/v1/messages"):
                with pytest.raises(httpx.ConnectError):
                    await client.post(url, content=b"{}")

    run(main())


def test_an_abandoned_stream_closes_its_connection():
    async def main() -> None:
        slow = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n" + b"%x\r\n%s\r\n" % (len(SSE[0]), SSE[0])
        upstream = Upstream([slow + b"", FIXED])
        async with upstream as url, _client() as client:
            async with client.stream("POST", url, content=b"{}") as response:
                async for chunk in response.aiter_raw():
                    assert chunk == SSE[0]
                    break  # the client went away mid-stream
            assert (await client.post(url, content=b"{}")).json() == {"type": "message"}
        assert upstream.connections == 2  # the half-read connection was not handed to the next request

    run(main())


def test_chunked_decoding_does_not_depend_on_how_the_bytes_are_split():
    rng = random.Random(7)
    parts = [bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 300))) for _ in range(40)]
    wire = b"".join(b"%x;ext=1\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\ntrailer: x\r\n\r\n"
    for _ in range(200):
        decoder, out, position = _ChunkedDecoder(), [], 0
        while position < len(wire):
            step = rng.randint(1, 64)
            out.append(decoder.feed(wire[position : position + step]))
            position += step
        assert decoder.done and not decoder.surplus
        assert b"".join(out) == b"".join(parts)


def test_https_upstreams_are_verified_and_reused():
    import trustme

    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.set_alpn_protocols(["h2", "http/1.1"])
    ca.issue_cert("localhost").configure_cert(server_context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)

    async def main() -> None:
        upstream = Upstream([STREAM, FIXED])
        server = await asyncio.start_server(upstream.handle, "127.0.0.1", 0, ssl=server_context)
        port = server.sockets[0].getsockname()[1]
        transport = WireTransport(client_context, httpx.Limits())
        async with httpx.AsyncClient(transport=transport, timeout=5.0) as client:
            streamed = await client.post(f"https://localhost:{port}/v1/messages", content=b"{}")
            fixed = await client.post(f"https://localhost:{port}/v1/messages", content=b"{}")
            # The certificate names "localhost", not the address: verification refuses it.
            with pytest.raises(httpx.ConnectError, match="certificate"):
                await client.post(f"https://127.0.0.1:{port}/v1/messages", content=b"{}")
        server.close()
        assert streamed.content == b"".join(SSE) and fixed.json() == {"type": "message"}
        assert upstream.alpn == ["http/1.1"]  # the protocol was negotiated, not assumed
        assert upstream.connections == 1  # reused; the refused handshake never became a connection
        assert len(upstream.requests) == 2

    run(main())


@pytest.mark.parametrize("hang_up", ["close", "abort", "linger"])
def test_a_gateway_refusing_a_large_body_early_is_heard(hang_up: str):
    """A gateway past its body limit (nginx: 1 MB by default) answers 413 after the head, before the
    body. Whether it then drains the body (nginx's lingering close), closes, or resets, the client
    gets that answer, not a broken-pipe error from its unfinished write."""

    async def refuse(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 413 Request Entity Too Large\r\ncontent-type: text/html\r\n"
                     b"content-length: 22\r\nconnection: close\r\n\r\n<h1>413 Too Large</h1>")
        await writer.drain()
        if hang_up == "linger":
            while await reader.read(1 << 16):
                pass
        if hang_up == "abort":
            writer.transport.abort()
        else:
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(refuse, "127.0.0.1", 0)
        url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/v1/messages"
        async with _client() as client:
            reply = await client.post(url, content=b"x" * (8 << 20))
        server.close()
        assert reply.status_code == 413 and reply.content == b"<h1>413 Too Large</h1>"

    run(main())


def test_an_address_that_never_answers_does_not_cost_the_connect_timeout():
    """A host whose first address is dead (a broken IPv6 route, a stale DNS record): the next one is
    tried after a short delay, so the request succeeds well within its connect timeout."""

    async def main() -> None:
        upstream = Upstream([FIXED])
        async with upstream as url:
            live_port = int(url.rsplit(":", 1)[1])
            # A listener that never accepts, its queue full: further connection attempts hang.
            dead = socket.socket()
            dead.bind(("127.0.0.1", 0))
            dead.listen(0)
            fillers = []
            for _ in range(3):
                filler = socket.socket()
                filler.setblocking(False)
                filler.connect_ex(dead.getsockname())
                fillers.append(filler)
            await asyncio.sleep(0.1)
            loop = asyncio.get_running_loop()

            async def resolve(host, port, **kwargs):  # type: ignore[no-untyped-def]
                # What DNS would answer for a host with a dead first address and a live second one.
                assert host == "api.lynkr-test.invalid"
                return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", dead.getsockname()),
                        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", live_port))]

            loop.getaddrinfo = resolve  # type: ignore[method-assign]
            transport = WireTransport(ssl.create_default_context(), httpx.Limits())
            async with httpx.AsyncClient(transport=transport, timeout=httpx.Timeout(30.0, connect=5.0)) as client:
                reply = await client.post("http://api.lynkr-test.invalid/v1/messages", content=b"{}")
            for sock in (dead, *fillers):
                sock.close()
        assert reply.json() == {"type": "message"}

    run(main())
