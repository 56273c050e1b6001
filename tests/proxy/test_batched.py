"""The relay joins chunks that are already read, and never holds one back waiting for the next."""

from __future__ import annotations

import asyncio

import pytest

from lynkr_cli.proxy.chunks import batched


async def _source(items, gate: asyncio.Event | None = None, gate_after: int = -1, fail: bool = False):
    for index, item in enumerate(items):
        yield item
        if index == gate_after and gate is not None:
            await gate.wait()
    if fail:
        raise ConnectionError("upstream went away")


def test_buffered_chunks_become_one_write():
    async def main():
        return [c async for c in batched(_source([b"event: a\n\n", b"event: b\n\n", b"event: c\n\n"]))]

    assert asyncio.run(main()) == [b"event: a\n\nevent: b\n\nevent: c\n\n"]


def test_a_chunk_is_passed_on_before_the_next_one_exists():
    async def main():
        gate = asyncio.Event()
        received = []
        async for chunk in batched(_source([b"first", b"second"], gate, gate_after=0)):
            received.append(chunk)
            gate.set()  # the upstream only continues once the client has the first chunk
        return received

    assert asyncio.run(asyncio.wait_for(main(), 5)) == [b"first", b"second"]


def test_an_error_comes_after_the_chunks_before_it():
    async def main():
        received = []
        with pytest.raises(ConnectionError):
            async for chunk in batched(_source([b"a", b"b"], fail=True)):
                received.append(chunk)
        return received

    assert asyncio.run(main()) == [b"ab"]


def test_stopping_early_cancels_the_read_in_flight():
    async def main():
        gate = asyncio.Event()
        stream = batched(_source([b"a", b"b"], gate, gate_after=0))
        assert await stream.__anext__() == b"a"
        await stream.aclose()
        await asyncio.sleep(0)
        return [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]

    assert asyncio.run(main()) == []
