"""Forwarding one request upstream and streaming the answer back as it arrives.

The relay never holds a response back: each chunk the upstream sends is passed to the client as soon
as it is read, while a scanner picks the usage figures out of it. When the client goes away, the
upstream call is closed. Every relayed request ends as exactly one ledger row, whatever happened.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, AsyncIterator, Protocol

import httpx
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from lynkr_cli.errors import LynkrError, UpstreamError, UpstreamTimeout, anthropic_error_body
from lynkr_cli.ledger.pricing import cost_usd
from lynkr_cli.redact import redact_text

if TYPE_CHECKING:
    from lynkr_cli.ledger import RequestRecord
    from lynkr_cli.proxy.context import ProxyContext

# Hop-by-hop headers (RFC 9110 §7.6.1) and the ones the HTTP client recomputes.
_DROP_REQUEST_HEADERS = frozenset(
    {
        "host", "content-length", "connection", "keep-alive", "proxy-authorization", "proxy-connection",
        "te", "trailer", "transfer-encoding", "upgrade", "accept-encoding",
    }
)
_DROP_RESPONSE_HEADERS = frozenset(
    {"content-length", "connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "server", "date"}
)


class ResponseScanner(Protocol):
    """Watches a response body go by and remembers model, usage and errors."""

    model: str | None
    error: str | None

    def feed(self, chunk: bytes) -> None: ...
    def finish(self) -> None: ...


def upstream_headers(request: Request) -> list[tuple[str, str]]:
    """The client's headers minus hop-by-hop ones; credentials and ``anthropic-*`` pass untouched."""
    headers = [(k, v) for k, v in request.headers.items() if k not in _DROP_REQUEST_HEADERS]
    headers.append(("accept-encoding", "identity"))  # so usage can be read from the bytes we relay
    return headers


def client_headers(upstream: httpx.Headers) -> dict[str, str]:
    return {k: v for k, v in upstream.items() if k.lower() not in _DROP_RESPONSE_HEADERS}


def join_url(base: str, path: str, query: str) -> str:
    """``base`` may carry a path prefix (a company gateway); it is kept."""
    url = base.rstrip("/") + path
    return f"{url}?{query}" if query else url


async def relay(
    ctx: ProxyContext,
    request: Request,
    body: bytes,
    url: str,
    record: RequestRecord,
    scanner: ResponseScanner,
    error_body=anthropic_error_body,  # type: ignore[no-untyped-def]
) -> Response:
    """Send ``body`` to ``url`` and stream the upstream's answer back, recording it in ``record``."""
    assert ctx.client is not None, "proxy client not started"
    t0 = time.perf_counter()
    upstream_request = ctx.client.build_request(
        request.method, url, headers=upstream_headers(request), content=body
    )
    try:
        upstream = await ctx.client.send(upstream_request, stream=True)
    except httpx.TimeoutException as exc:
        return _fail(ctx, record, t0, UpstreamTimeout(_describe(exc, url)), error_body)
    except httpx.HTTPError as exc:
        return _fail(ctx, record, t0, UpstreamError(_describe(exc, url)), error_body)
    record.status = upstream.status_code
    return StreamingResponse(
        _stream(ctx, upstream, record, scanner, t0),
        status_code=upstream.status_code,
        headers=client_headers(upstream.headers),
    )


async def _stream(
    ctx: ProxyContext,
    upstream: httpx.Response,
    record: RequestRecord,
    scanner: ResponseScanner,
    t0: float,
) -> AsyncIterator[bytes]:
    completed = False
    try:
        async for chunk in upstream.aiter_raw():
            if record.ttfb_ms is None:
                record.ttfb_ms = (time.perf_counter() - t0) * 1000
            record.response_bytes += len(chunk)
            scanner.feed(chunk)
            yield chunk
        completed = True
    except httpx.HTTPError as exc:
        record.error = f"upstream stream broke: {_describe(exc, str(upstream.request.url))}"
        # The client already has a 200 and part of a stream: end it with an error event it understands.
        if record.streamed:
            yield _sse_error(record.error)
    finally:
        await upstream.aclose()
        if not completed and record.error is None:
            record.error = "client disconnected before the response ended"
        _finish(ctx, record, scanner, t0)


def _sse_error(message: str) -> bytes:
    body = anthropic_error_body(f"lynkr: {message}", "api_error").decode()
    return f"event: error\ndata: {body}\n\n".encode()


def _finish(ctx: ProxyContext, record: RequestRecord, scanner: ResponseScanner, t0: float) -> None:
    scanner.finish()
    record.latency_ms = (time.perf_counter() - t0) * 1000
    record.model_used = scanner.model or record.model_used
    usage = getattr(scanner, "usage", None)
    if usage is not None:
        record.input_tokens = usage.input_tokens
        record.output_tokens = usage.output_tokens
        record.cache_read_tokens = usage.cache_read_tokens
        record.cache_write_tokens = usage.cache_write_tokens
        record.cost_usd = cost_usd(
            record.model_used or record.model_requested,
            record.provider,
            usage.input_tokens,
            usage.output_tokens,
            usage.cache_read_tokens,
            usage.cache_write_tokens,
        )
    if scanner.error and not record.error:
        record.error = scanner.error
    ctx.record(record)


def _fail(ctx: ProxyContext, record: RequestRecord, t0: float, error: LynkrError, error_body) -> Response:  # type: ignore[no-untyped-def]
    record.status = error.http_status
    record.error = str(error)
    record.latency_ms = (time.perf_counter() - t0) * 1000
    ctx.record(record)
    return error_response(error, error_body)


def error_response(error: LynkrError, error_body=anthropic_error_body) -> Response:  # type: ignore[no-untyped-def]
    """A lynkr error in the client's own API format, with the status that matches it."""
    return Response(
        error_body(f"lynkr: {error}", error.anthropic_type if error_body is anthropic_error_body else error.openai_type),
        status_code=error.http_status,
        media_type="application/json",
    )


def _describe(exc: httpx.HTTPError, url: str) -> str:
    kind = type(exc).__name__
    detail = str(exc) or kind
    host = httpx.URL(url).copy_with(query=None)
    return redact_text(f"{kind} talking to {host}: {detail}")
