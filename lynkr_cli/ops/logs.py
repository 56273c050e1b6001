"""``lynkr serve --log-format json``: one JSON object per line on stderr, for log shippers.

Every line has ``ts`` (UTC, ISO 8601), ``level`` and ``event``: ``request`` for each answered request
(route, provider, model, tier, key name, status, latency, tokens, cost, cache decision; never a key
or a prompt), ``serve`` for the server's own notes (listening, reloaded, stopped), ``log`` for
warnings from lynkr's components and libraries. JSON escaping keeps control characters a client sent
out of the terminal.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lynkr_cli.ledger import RequestRecord


def _ts(when: float | None = None) -> str:
    when = time.time() if when is None else when
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(when)) + f".{int(when % 1 * 1000):03d}Z"


def line(event: str, level: str = "info", **fields: Any) -> str:
    return json.dumps({"ts": _ts(), "level": level, "event": event, **fields}, default=str, separators=(",", ":"))


def request_line(record: RequestRecord) -> str:
    route = _table(record.details.get("route"))
    cache = _table(record.details.get("cache"))
    failed = bool(record.error) or (record.status or 0) >= 400
    return line("request", "warning" if failed else "info", route=record.route, session=record.session_id,
                provider=record.provider, model=record.model_used or record.model_requested, tier=route.get("tier"),
                key=record.key_name, status=record.status, streamed=record.streamed,
                latency_ms=_round(record.latency_ms), ttfb_ms=_round(record.ttfb_ms),
                input_tokens=record.input_tokens, output_tokens=record.output_tokens,
                cache_read_tokens=record.cache_read_tokens, cache_write_tokens=record.cache_write_tokens,
                cost_usd=record.cost_usd, cache=cache.get("decision"), error=record.error)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        from lynkr_cli.redact import redact_text  # log lines quote requests and upstream answers

        fields: dict[str, Any] = {"logger": record.name, "message": redact_text(record.getMessage())}
        if record.exc_info:
            fields["exception"] = redact_text(self.formatException(record.exc_info))
        return json.dumps({"ts": _ts(record.created), "level": record.levelname.lower(), "event": "log", **fields},
                          default=str, separators=(",", ":"))


def use_json_logs(stream: IO[str] | None = None) -> None:
    """Every log record of this process as a JSON line on ``stream`` (stderr)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(logging.WARNING)
    logging.getLogger("lynkr").setLevel(logging.INFO)


def _table(value: Any) -> dict[str, Any]:
    """A ``details`` entry when it is a table (components record tables; anything else counts as none)."""
    return value if isinstance(value, dict) else {}
