"""``/healthz``, ``/readyz`` and ``/metrics``, answered in front of the proxy.

- ``/healthz``: the process serves HTTP (a load balancer's liveness check). No token.
- ``/readyz``: 200 when this replica should get traffic, 503 while its database cannot be reached or
  while it shuts down, so a load balancer sends clients to the other replicas. No token.
- ``/metrics``: Prometheus text format (``ops/metrics.py``). It names user keys and models, so when
  the server has a token it must come with it (``Authorization: Bearer <token>``, ``X-Lynkr-Token``,
  or the ``/s/<token>/metrics`` path); user keys are not enough. Like the API routes, it refuses a
  Host a web page could have rebound and any Origin not configured (``proxy/guard.py``).

Everything else goes to the proxy unchanged.
"""

from __future__ import annotations

import json
from typing import Callable

from starlette.types import ASGIApp, Receive, Scope, Send

from lynkr_cli.ops.metrics import CONTENT_TYPE, Metrics
from lynkr_cli.proxy.auth import TokenAuthenticator
from lynkr_cli.proxy.guard import OriginGuard

_PATHS = ("/healthz", "/readyz", "/metrics")


class OpsEndpoints:
    def __init__(self, app: ASGIApp, metrics: Metrics, ready: Callable[[], str | None], token: str | None,
                 guard: OriginGuard | None = None) -> None:
        """``ready()``: None when ready, else why not (shown in the 503)."""
        self.app = app
        self.metrics = metrics
        self.ready = ready
        self._token = TokenAuthenticator(token) if token else None
        self._guard = guard or OriginGuard()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD") or not self._is_ops(scope["path"]):
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if path == "/healthz":
            await _send(send, 200, b'{"status":"ok"}')
        elif path == "/readyz":
            why = self.ready()
            body = {"status": "ready"} if why is None else {"status": "not ready", "reason": why}
            await _send(send, 200 if why is None else 503, json.dumps(body).encode())
        elif self._guard.refusal(scope["headers"]) is not None:
            await _send(send, 403, b'{"error":"lynkr: /metrics is not for web pages (Host or Origin refused)"}')
        elif self._token is not None and self._token.authenticate(scope) is None:
            await _send(send, 401, b'{"error":"lynkr: /metrics needs the server token (Authorization: Bearer ...)"}')
        else:
            await _send(send, 200, self.metrics.render(), CONTENT_TYPE.encode())

    def _is_ops(self, path: str) -> bool:
        if path in _PATHS:
            return True
        # /s/<token>/metrics: the token's check happens above
        return path.startswith("/s/") and path.endswith("/metrics") and path.count("/") == 3


async def _send(send: Send, status: int, body: bytes, content_type: bytes = b"application/json") -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", content_type), (b"content-length", str(len(body)).encode()),
                            (b"cache-control", b"no-store")]})
    await send({"type": "http.response.body", "body": body})
