"""The proxy's one upstream client: requests built once and handed to an httpx transport.

``httpx.AsyncClient`` wraps every send in auth, redirect, cookie and event-hook handling, parses the
URL and merges four ``Headers`` objects per request: ~0.4 ms per request of the ~2 ms lynkr adds here
(bench/RESULTS.md, "Upstream transport"). lynkr uses none of it (credentials are the agent's own
headers, redirects are not followed), and a client-wide cookie jar would even replay one session's
``Set-Cookie`` on another's requests. So this client builds ``httpx.Request`` objects itself and
sends them through httpx's transport interface (``AsyncBaseTransport.handle_async_request``):
responses and errors are httpx's, which the relay, the failover and the fault suite rely on.

Every request takes the same path; what differs is the transport, chosen once from the environment:
``proxy/wire.py`` for direct connections, httpx's own (httpcore) for an origin reached through
``HTTP_PROXY``/``HTTPS_PROXY``/``ALL_PROXY`` (``NO_PROXY`` honoured, as curl and httpx read them).
"""

from __future__ import annotations

import ssl
from typing import Callable, Iterable, Mapping, Sequence, Union

import httpx

from lynkr_cli.proxy.wire import WireTransport

Transport = Callable[[ssl.SSLContext, httpx.Limits], httpx.AsyncBaseTransport]
# The header shapes httpx accepts (``httpx.Request(headers=...)``).
HeaderItems = Union[httpx.Headers, Mapping[str, str], Sequence[tuple[str, str]], Sequence[tuple[bytes, bytes]]]

# What httpx's own clients send when the caller does not say (the proxy test checks they still match).
DEFAULT_HEADERS = [(b"Accept", b"*/*"), (b"Accept-Encoding", b"gzip, deflate"), (b"Connection", b"keep-alive"),
                   (b"User-Agent", f"python-httpx/{httpx.__version__}".encode())]


class UpstreamClient:
    """Builds and sends the proxy's upstream requests on ``transport``; closes it with ``aclose``."""

    def __init__(self, transport: httpx.AsyncBaseTransport, timeout: httpx.Timeout) -> None:
        self.transport = transport
        self._timeout = timeout.as_dict()
        self._urls: dict[str, httpx.URL] = {}

    def build_request(self, method: str, url: str | httpx.URL, headers: HeaderItems | None = None,
                      content: bytes = b"") -> httpx.Request:
        """A request with httpx's default headers under the caller's; lynkr sends to a handful of
        URLs, and parsing one costs more than the rest of building the request, so they are kept."""
        parsed = url if isinstance(url, httpx.URL) else self._urls.get(url)
        if parsed is None:
            if len(self._urls) >= 512:
                self._urls.clear()
            parsed = self._urls[str(url)] = httpx.URL(url)
        given = _raw(headers)
        if given is None:  # a value httpx must encode (or refuse) its own way
            return httpx.Request(method, parsed, content=content, headers=headers, extensions={"timeout": self._timeout})
        names = {name.lower() for name, _ in given}
        merged = [item for item in DEFAULT_HEADERS if item[0].lower() not in names] + given
        return httpx.Request(method, parsed, content=content, headers=merged, extensions={"timeout": self._timeout})

    async def send(self, request: httpx.Request, stream: bool = True) -> httpx.Response:
        """The response, its body still to be read (``stream``) or read whole."""
        response = await self.transport.handle_async_request(request)
        response.request = request
        if not stream:
            try:
                await response.aread()
            finally:
                await response.aclose()
        return response

    async def aclose(self) -> None:
        await self.transport.aclose()

    async def __aenter__(self) -> UpstreamClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def _raw(headers: HeaderItems | None) -> list[tuple[bytes, bytes]] | None:
    """``headers`` as raw ``(name, value)`` pairs, names in their given case (as httpx keeps them),
    or None for anything httpx itself should handle (non-ASCII text, which it refuses its own way)."""
    if headers is None:
        return []
    if isinstance(headers, httpx.Headers):
        return list(headers.raw)
    items: Iterable[tuple[str | bytes, str | bytes]] = headers.items() if isinstance(headers, Mapping) else headers
    try:
        return [(_ascii(name), _ascii(value)) for name, value in items]
    except UnicodeEncodeError:
        return None


def _ascii(text: str | bytes) -> bytes:
    return text if isinstance(text, bytes) else text.encode("ascii")


def wire_transport(ssl_context: ssl.SSLContext, limits: httpx.Limits) -> httpx.AsyncBaseTransport:
    return WireTransport(ssl_context, limits)


def httpx_transport(ssl_context: ssl.SSLContext, limits: httpx.Limits) -> httpx.AsyncBaseTransport:
    """httpx's own transport (httpcore): the maintained one, used for proxied origins."""
    return httpx.AsyncHTTPTransport(verify=ssl_context, limits=limits)


class EnvironmentProxies(httpx.AsyncBaseTransport):
    """Each request direct on ``direct``, or through the proxy the environment names for its URL on
    httpx's own transport (one per proxy). ``proxies``: scheme -> proxy URL (``urllib.request.getproxies``)."""

    def __init__(self, direct: httpx.AsyncBaseTransport, proxies: Mapping[str, str], ssl_context: ssl.SSLContext,
                 limits: httpx.Limits) -> None:
        self.direct = direct
        self.proxies = dict(proxies)
        self._ssl, self._limits = ssl_context, limits
        self._via: dict[str, httpx.AsyncBaseTransport] = {}
        self._routes: dict[tuple[str, str], httpx.AsyncBaseTransport] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        key = (request.url.scheme, request.url.host)
        transport = self._routes.get(key)
        if transport is None:
            transport = self._routes[key] = self._route(*key)
        return await transport.handle_async_request(request)

    def _route(self, scheme: str, host: str) -> httpx.AsyncBaseTransport:
        import urllib.request

        proxy = self.proxies.get(scheme) or self.proxies.get("all")
        if not proxy or urllib.request.proxy_bypass(host):  # NO_PROXY
            return self.direct
        via = self._via.get(proxy)
        if via is None:
            via = self._via[proxy] = httpx.AsyncHTTPTransport(proxy=httpx.Proxy(proxy), verify=self._ssl,
                                                              limits=self._limits)
        return via

    async def aclose(self) -> None:
        await self.direct.aclose()
        for via in self._via.values():
            await via.aclose()


def upstream_client(ssl_context: ssl.SSLContext, limits: httpx.Limits, timeout: httpx.Timeout,
                    transport: Transport = wire_transport) -> UpstreamClient:
    """The client a proxy starts with: ``transport`` for direct connections (``proxy/wire.py`` unless a
    test or benchmark says otherwise), httpx's own for origins the environment sends through a proxy."""
    import urllib.request

    direct = transport(ssl_context, limits)
    proxies = {k: v for k, v in urllib.request.getproxies().items() if k in ("http", "https", "all")}
    if proxies:
        return UpstreamClient(EnvironmentProxies(direct, proxies, ssl_context, limits), timeout)
    return UpstreamClient(direct, timeout)
