"""JSON on the request path: orjson (a pinned dependency), the standard library for what it refuses.

Translating a Claude Code request (~85 KB) means one parse and one serialization; with the standard
library they cost about 0.8 and 1.3 ms on the reference machine, with orjson 0.25 and 0.03 ms (see
bench/RESULTS.md, "Translation"). Both produce the same compact bytes (key order kept, UTF-8 not
escaped), so the output does not depend on which one ran.
"""

from __future__ import annotations

import json
from typing import Any

import orjson


def loads(data: bytes | str) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise ValueError(str(exc)) from None


def parse_json_object(body: bytes | str) -> dict[str, Any]:
    """A request body as a JSON object, or a ``UsageError`` saying what is wrong with it (a client
    gets it as a 400 in its own format, the terminal as one line)."""
    from lynkr_cli.errors import UsageError

    try:
        payload = loads(body)
    except ValueError as exc:
        raise UsageError(f"the request body is not valid JSON ({exc})") from None
    if not isinstance(payload, dict):
        raise UsageError("the request body must be a JSON object")
    return payload


def dumps(value: Any) -> bytes:
    """Compact JSON bytes, identical to ``json.dumps(separators=(",", ":"), ensure_ascii=False)``."""
    try:
        return orjson.dumps(value)
    except TypeError:  # ints beyond 64 bits and other values orjson refuses
        pass
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
