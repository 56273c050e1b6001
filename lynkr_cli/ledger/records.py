"""The rows the ledger stores, as typed records (one per session, one per model request)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any


@dataclass
class SessionRecord:
    """One ``lynkr run`` (or one ``lynkr serve`` client) from start to exit."""

    id: str
    agent: str
    argv: list[str]
    cwd: str
    started_at: float
    pid: int
    lynkr_version: str
    upstream: str = ""
    ended_at: float | None = None
    exit_code: int | None = None
    status: str = "running"  # running | finished | interrupted


@dataclass
class RequestRecord:
    """One model request as it crossed the proxy, with the upstream's own usage figures.

    Token counts come from the upstream ``usage`` (streamed usage included); ``None`` means the
    upstream did not say, which the report shows as unknown rather than zero.
    """

    session_id: str
    started_at: float
    route: str
    inbound_format: str = "anthropic"
    model_requested: str | None = None
    model_used: str | None = None
    provider: str = "anthropic"
    streamed: bool = False
    status: int | None = None
    latency_ms: float | None = None
    ttfb_ms: float | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_read_tokens: int | None = None
    cache_write_tokens: int | None = None
    request_bytes: int = 0
    response_bytes: int = 0
    error: str | None = None
    cost_usd: float | None = None
    details: dict[str, Any] = field(default_factory=dict)
    key_name: str | None = None  # the user key the request came with (``lynkr keys``): its name only

    def as_row(self) -> dict[str, Any]:
        """The columns (``details`` as the dict itself: the writer serializes it once, and ``asdict``'s
        deep copy of it was most of a row's cost)."""
        row = {name: getattr(self, name) for name in _REQUEST_FIELDS}
        row["streamed"] = int(self.streamed)
        return row


_REQUEST_FIELDS = tuple(f.name for f in fields(RequestRecord))
