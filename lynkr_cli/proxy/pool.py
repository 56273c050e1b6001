"""The upstream connection pool, split into shards so its bookkeeping stays cheap under concurrency.

httpcore's pool (httpx 0.28 / httpcore 1.0) re-examines every connection for every waiting request
each time a request starts or ends: O(requests x connections). With 32 concurrent streams that is
about a thousand checks per request, and in a profile of ``lynkr serve`` at 32 clients it was the
largest single cost (``_assign_requests_to_connections``), throughput falling as clients were added.
``ShardedTransport`` keeps several independent pools and sends each request to the least busy one,
so each pool sees a fraction of the requests and connections; one sequential client always lands on
the first shard and keeps reusing its connection.
"""

from __future__ import annotations

from typing import AsyncIterator, Callable

import httpx


class _Released(httpx.AsyncByteStream):
    """A response body that calls ``release`` once, when it is closed."""

    def __init__(self, stream: httpx.AsyncByteStream, release: Callable[[], None]) -> None:
        self._stream = stream
        self._release: Callable[[], None] | None = release

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._stream:
            yield chunk

    async def aclose(self) -> None:
        try:
            await self._stream.aclose()
        finally:
            if self._release is not None:
                self._release()
                self._release = None


class ShardedTransport(httpx.AsyncBaseTransport):
    """``shards`` ordinary httpx transports; a request goes to the one with the fewest in flight."""

    def __init__(self, shards: int = 8, limits: httpx.Limits = httpx.Limits(), **options: object) -> None:
        per_shard = httpx.Limits(
            max_connections=None if limits.max_connections is None else max(1, limits.max_connections // shards),
            max_keepalive_connections=None if limits.max_keepalive_connections is None
            else max(1, limits.max_keepalive_connections // shards),
            keepalive_expiry=limits.keepalive_expiry,
        )
        # One TLS context for all shards: loading the CA bundle costs tens of ms each time.
        options.setdefault("verify", httpx.create_ssl_context(trust_env=True))
        self._shards = [httpx.AsyncHTTPTransport(limits=per_shard, **options) for _ in range(shards)]  # type: ignore[arg-type]
        self._busy = [0] * shards

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        index = self._busy.index(min(self._busy))
        self._busy[index] += 1

        def release() -> None:
            self._busy[index] -= 1

        try:
            response = await self._shards[index].handle_async_request(request)
        except BaseException:
            release()
            raise
        assert isinstance(response.stream, httpx.AsyncByteStream)
        return httpx.Response(response.status_code, headers=response.headers,
                              stream=_Released(response.stream, release), extensions=response.extensions)

    async def aclose(self) -> None:
        for shard in self._shards:
            await shard.aclose()
