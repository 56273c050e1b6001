"""What the ledger's writer writes: records turned into rows, and one batch written in one transaction.

The same SQL serves SQLite and PostgreSQL (``storage/db.py``). Every write is idempotent, so a batch
whose commit was in doubt (the connection died) can be written again from the spool: sessions and
requests are inserted with ``ON CONFLICT DO NOTHING`` (a request's ``uid`` is drawn once, when the
writer first takes it), a finish is an ``UPDATE``, and spend counters grow only for rows that were new.
"""

from __future__ import annotations

import json
import os
import socket
from typing import Any, Sequence

import orjson

from lynkr_cli.ledger import spend
from lynkr_cli.ledger.records import RequestRecord, SessionRecord
from lynkr_cli.redact import redact_text
from lynkr_cli.storage.db import Transaction

Item = tuple[str, Any]  # ("session" | "request" | "finish", row)

HOST = socket.gethostname()

SESSION_COLUMNS = ("id", "agent", "argv", "cwd", "started_at", "status", "pid", "lynkr_version", "upstream", "host")
REQUEST_COLUMNS = (
    "uid", "session_id", "started_at", "route", "inbound_format", "model_requested", "model_used", "provider",
    "streamed", "status", "latency_ms", "ttfb_ms", "input_tokens", "output_tokens", "cache_read_tokens",
    "cache_write_tokens", "request_bytes", "response_bytes", "error", "cost_usd", "details", "key_name",
)
_INSERT_SESSION = (f"INSERT INTO sessions ({', '.join(SESSION_COLUMNS)}) VALUES ({', '.join('?' * len(SESSION_COLUMNS))})"
                   " ON CONFLICT (id) DO NOTHING")
_ROW = "(" + ", ".join("?" * len(REQUEST_COLUMNS)) + ")"


def session_row(s: SessionRecord) -> dict[str, Any]:
    return {"id": s.id, "agent": s.agent, "argv": json.dumps(s.argv), "cwd": s.cwd, "started_at": s.started_at,
            "status": s.status, "pid": s.pid, "lynkr_version": s.lynkr_version, "upstream": s.upstream, "host": HOST}


def request_row(r: RequestRecord) -> dict[str, Any]:
    """The row for ``r``: credentials redacted from its free text, a fresh ``uid``."""
    row = r.as_row()
    row["uid"] = os.urandom(16).hex()  # as random as uuid4().hex, without building a UUID
    row["details"] = _redacted_details(r.details) if r.details else None
    if row["error"]:  # upstream error messages can echo the credential they rejected
        row["error"] = redact_text(row["error"])
    return {c: row.get(c) for c in REQUEST_COLUMNS}


# Redacted details by their JSON text. Redaction costs ~70 µs for a pass-through row's details
# (about 450 characters) while the JSON takes under 1 µs, and a session's rows mostly repeat the same
# details (route, cache decision, provider, price): the same text redacts to the same text.
_REDACTED: dict[str, str] = {}
_REDACTED_MAX = 256  # entries, each at most _REDACTED_TEXT_MAX characters: ~1 MB at most
_REDACTED_TEXT_MAX = 4096


def _redacted_details(details: dict[str, Any]) -> str:
    try:
        text = orjson.dumps(details, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:  # values orjson refuses (ints beyond 64 bits)
        text = json.dumps(details, separators=(",", ":"), default=str)
    found = _REDACTED.get(text)
    if found is None:
        found = redact_text(text)
        if len(text) <= _REDACTED_TEXT_MAX:
            if len(_REDACTED) >= _REDACTED_MAX:
                _REDACTED.clear()
            _REDACTED[text] = found
    return found


def to_item(kind: str, payload: Any) -> Item:
    """A queued record as a plain, JSON-serializable row (what the spool keeps)."""
    if kind == "session":
        return kind, session_row(payload)
    if kind == "request":
        return kind, request_row(payload)
    return kind, list(payload)  # finish: [session_id, exit_code, status, ended_at]


_PG_TYPES = {"started_at": "float8", "latency_ms": "float8", "ttfb_ms": "float8", "cost_usd": "float8",
             "streamed": "int4", "status": "int4", "input_tokens": "int4", "output_tokens": "int4",
             "cache_read_tokens": "int4", "cache_write_tokens": "int4", "request_bytes": "int4",
             "response_bytes": "int4"}
_PG_FIRST_ROW = "(" + ", ".join(f"?::{_PG_TYPES.get(c, 'text')}" for c in (*REQUEST_COLUMNS, "day", "month")) + ")"
_PG_ROW = "(" + ", ".join("?" * (len(REQUEST_COLUMNS) + 2)) + ")"


def postgres_insert_requests(rows: list[dict[str, Any]]) -> tuple[str, list[Any]]:
    """One statement that inserts request rows and adds the new ones to their keys' spend counters:
    on PostgreSQL one round trip and one commit per batch, so budgets on other replicas see the spend
    a few milliseconds after the request ends (the transaction in ``write`` takes five round trips)."""
    values = ", ".join([_PG_FIRST_ROW] + [_PG_ROW] * (len(rows) - 1))
    columns = ", ".join(REQUEST_COLUMNS)
    sql = (
        f"WITH data ({columns}, day, month) AS (VALUES {values}),"
        f" ins AS (INSERT INTO requests ({columns}) SELECT {columns} FROM data ON CONFLICT (uid) DO NOTHING"
        " RETURNING uid),"
        " counted AS (SELECT 'key:' || d.key_name AS scope, p.period, COALESCE(d.cost_usd, 0) AS usd FROM data d"
        " JOIN ins ON ins.uid = d.uid CROSS JOIN LATERAL (VALUES (d.day), (d.month)) AS p(period)"
        " WHERE d.key_name IS NOT NULL)"
        " INSERT INTO spend (scope, period, usd, requests)"
        " SELECT scope, period, SUM(usd), COUNT(*) FROM counted GROUP BY scope, period ORDER BY scope, period"
        " ON CONFLICT (scope, period) DO UPDATE SET usd = spend.usd + excluded.usd,"
        " requests = spend.requests + excluded.requests"
    )
    params: list[Any] = []
    for row in rows:
        params.extend(row[c] for c in REQUEST_COLUMNS)
        params.extend(spend.periods(row["started_at"]))
    return sql, params


def write(tx: Transaction, items: Sequence[Item]) -> None:
    """Write ``items`` in order within ``tx`` (consecutive requests as one multi-row insert)."""
    i = 0
    while i < len(items):
        kind, row = items[i]
        if kind == "request":
            j = i
            while j < len(items) and items[j][0] == "request" and j - i < 400:
                j += 1
            _insert_requests(tx, [r for _, r in items[i:j]])
            i = j
            continue
        if kind == "session":
            tx.execute(_INSERT_SESSION, [row[c] for c in SESSION_COLUMNS])
        elif kind == "finish":
            session_id, exit_code, status, ended_at = row
            tx.execute("UPDATE sessions SET ended_at = ?, exit_code = ?, status = ? WHERE id = ?",
                       (ended_at, exit_code, status, session_id))
        i += 1


def _insert_requests(tx: Transaction, rows: list[dict[str, Any]]) -> None:
    sql = (f"INSERT INTO requests ({', '.join(REQUEST_COLUMNS)}) VALUES {', '.join([_ROW] * len(rows))}"
           " ON CONFLICT (uid) DO NOTHING RETURNING uid")
    params = [row[c] for row in rows for c in REQUEST_COLUMNS]
    new = {uid for (uid,) in tx.query(sql, params)}
    counts = spend.increments(row for row in rows if row["uid"] in new)
    if counts:
        spend.add(tx, counts)
