"""What every handler does with a request: read its body (bounded), and refuse it in the client's
format with a ledger row."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from lynkr_cli.proxy import intake
from lynkr_cli.proxy.relay import error_response

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from lynkr_cli.errors import LynkrError
    from lynkr_cli.formats.base import Codec
    from lynkr_cli.ledger import RequestRecord
    from lynkr_cli.proxy.context import ProxyContext


async def read_body(request: Request, limit: int) -> bytes:
    """The whole request body (``proxy/intake.py``): 413 past ``limit``, 408 when it stalls for the
    proxy's body timeout, 503 past the body budget, 499 when the client leaves."""
    ctx: ProxyContext = request.app.state.ctx
    return await intake.read_body(request, limit, ctx.body_timeout)


def reject(ctx: ProxyContext, record: RequestRecord, error: LynkrError, client: Codec) -> Response:
    """A request that never reached an upstream: the client's error format, one ledger row."""
    record.status = error.http_status
    record.error = str(error)
    record.latency_ms = (time.time() - record.started_at) * 1000
    ctx.record(record)
    return error_response(error, client)
