"""The sharded upstream pool: connections are reused, and every request gives its slot back."""

from __future__ import annotations

import asyncio
import socket

import httpx

from lynkr_cli.proxy.pool import ShardedTransport

REPLY = b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n\r\nok"


async def _serve(connections: list[int]) -> asyncio.AbstractServer:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        try:
            while await reader.readuntil(b"\r\n\r\n"):
                await asyncio.sleep(0.01)  # long enough for concurrent requests to overlap
                writer.write(REPLY)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", 0)


def test_sequential_requests_reuse_one_connection_and_concurrent_ones_spread():
    async def main() -> tuple[int, int, list[int]]:
        connections: list[int] = []
        server = await _serve(connections)
        port = server.sockets[0].getsockname()[1]
        transport = ShardedTransport(shards=4, limits=httpx.Limits(max_connections=64, max_keepalive_connections=32))
        async with httpx.AsyncClient(transport=transport) as client:
            for _ in range(10):
                assert (await client.get(f"http://127.0.0.1:{port}/")).text == "ok"
            sequential = len(connections)
            responses = await asyncio.gather(*(client.get(f"http://127.0.0.1:{port}/") for _ in range(16)))
            assert all(r.text == "ok" for r in responses)
            busy = list(transport._busy)
        server.close()
        await server.wait_closed()
        return sequential, len(connections), busy

    sequential, total, busy = asyncio.run(main())
    assert sequential == 1
    assert total >= 4  # the 16 concurrent requests used every shard
    assert busy == [0, 0, 0, 0]


def test_failed_and_streamed_requests_release_their_slot():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]

    async def main() -> list[int]:
        connections: list[int] = []
        server = await _serve(connections)
        port = server.sockets[0].getsockname()[1]
        transport = ShardedTransport(shards=2)
        async with httpx.AsyncClient(transport=transport) as client:
            for _ in range(3):
                try:
                    await client.get(f"http://127.0.0.1:{closed_port}/")
                except httpx.ConnectError:
                    pass
            async with client.stream("GET", f"http://127.0.0.1:{port}/") as response:
                assert [chunk async for chunk in response.aiter_raw()] == [b"ok"]
            busy = list(transport._busy)
        server.close()
        await server.wait_closed()
        return busy

    assert asyncio.run(main()) == [0, 0]
