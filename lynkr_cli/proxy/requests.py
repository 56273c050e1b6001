"""What every handler does with a request: read its body (bounded), and refuse it in the client's
format with a ledger row."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from lynkr_cli.errors import RequestTooLarge
from lynkr_cli.proxy.relay import error_response

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from lynkr_cli.errors import LynkrError
    from lynkr_cli.formats.base import Codec
    from lynkr_cli.ledger import RequestRecord
    from lynkr_cli.proxy.context import ProxyContext


async def read_body(request: Request, limit: int) -> bytes:
    """The whole request body, refused with 413 as soon as it passes ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise RequestTooLarge(_too_large(int(declared), limit))
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RequestTooLarge(_too_large(size, limit))
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(size: int, limit: int) -> str:
    return f"request body of {size} bytes or more exceeds the limit of {limit} bytes (max_body_bytes)"


def reject(ctx: ProxyContext, record: RequestRecord, error: LynkrError, client: Codec) -> Response:
    """A request that never reached an upstream: the client's error format, one ledger row."""
    record.status = error.http_status
    record.error = str(error)
    record.latency_ms = (time.time() - record.started_at) * 1000
    ctx.record(record)
    return error_response(error, client)
