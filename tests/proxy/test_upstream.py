"""The proxy's upstream client (``proxy/upstream.py``): requests as httpx builds them, no cookies kept,
and the environment's proxies honoured, on real loopback sockets."""

from __future__ import annotations

import ssl

import httpx

from lynkr_cli.proxy.upstream import UpstreamClient, upstream_client, wire_transport
from tests.proxy.test_wire import FIXED, Upstream, run

TIMEOUT = httpx.Timeout(5.0, read=1.0)


def _client() -> UpstreamClient:
    return upstream_client(ssl.create_default_context(), httpx.Limits(), TIMEOUT)


async def _post(client: UpstreamClient, url: str) -> httpx.Response:
    return await client.send(client.build_request("POST", url, content=b"{}"), stream=False)


def test_the_proxy_client_never_replays_an_upstream_cookie_on_later_requests():
    cookie = b"HTTP/1.1 200 OK\r\nset-cookie: __cf_bm=session-a; Path=/\r\ncontent-length: 2\r\n\r\nok"

    async def main() -> None:
        upstream = Upstream([cookie, FIXED])
        async with upstream as url:
            async with _client() as client:
                assert (await _post(client, url)).text == "ok"
                assert (await _post(client, url)).json() == {"type": "message"}
        assert b"cookie" not in upstream.requests[1][0].lower()

    run(main())


def test_with_http_proxy_set_upstream_calls_go_through_that_proxy(monkeypatch):
    async def main() -> None:
        proxy = Upstream([FIXED])  # an HTTP forward proxy answering for the origin
        direct = Upstream([FIXED])
        async with proxy as proxy_url, direct as direct_url:
            monkeypatch.setenv("HTTP_PROXY", proxy_url)
            monkeypatch.setenv("NO_PROXY", "127.0.0.1")
            async with _client() as client:
                reply = await _post(client, "http://api.lynkr-test.invalid/v1/messages")
                local = await _post(client, f"{direct_url}/v1/messages")  # NO_PROXY: straight there
        assert reply.json() == {"type": "message"} == local.json()
        assert proxy.requests[0][0].startswith(b"POST http://api.lynkr-test.invalid/v1/messages HTTP/1.1")
        assert len(proxy.requests) == 1 and len(direct.requests) == 1

    run(main())


def test_requests_built_by_the_proxy_client_match_httpx_own():
    async def main() -> None:
        ours = UpstreamClient(wire_transport(ssl.create_default_context(), httpx.Limits()), TIMEOUT)
        async with ours, httpx.AsyncClient(timeout=TIMEOUT) as theirs:
            for url in ("https://api.anthropic.com/v1/messages?beta=true", "http://127.0.0.1:8080/gw/v1/messages"):
                pairs = [("x-api-key", "sk-test"), ("anthropic-beta", "a"), ("anthropic-beta", "b"),
                         ("Accept", "application/json"), ("user-agent", "claude-cli/2.1.197")]
                shapes = [pairs, dict(pairs), httpx.Headers(pairs), None, [(b"x-api-key", b"sk-test")]]
                for headers in shapes * 2:  # the second time from the remembered URL
                    mine = ours.build_request("POST", url, headers=headers, content=b'{"a":1}')
                    reference = theirs.build_request("POST", url, headers=headers, content=b'{"a":1}')
                    assert mine.url == reference.url and mine.method == reference.method
                    assert mine.headers.raw == reference.headers.raw
                    assert mine.content == reference.content
                    assert mine.extensions == reference.extensions

    run(main())
