"""Numbered schema migrations; ``PRAGMA user_version`` records how many have run.

Append new migrations at the end; never edit one that has shipped.
"""

from __future__ import annotations

import sqlite3

MIGRATIONS: list[str] = [
    # 1: sessions and requests
    """
    CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        agent TEXT NOT NULL,
        argv TEXT NOT NULL,
        cwd TEXT NOT NULL,
        started_at REAL NOT NULL,
        ended_at REAL,
        exit_code INTEGER,
        status TEXT NOT NULL DEFAULT 'running',
        pid INTEGER,
        lynkr_version TEXT,
        upstream TEXT
    );
    CREATE INDEX sessions_started ON sessions(started_at);
    CREATE TABLE requests (
        id INTEGER PRIMARY KEY,
        session_id TEXT NOT NULL REFERENCES sessions(id),
        started_at REAL NOT NULL,
        route TEXT NOT NULL,
        inbound_format TEXT,
        model_requested TEXT,
        model_used TEXT,
        provider TEXT,
        streamed INTEGER NOT NULL DEFAULT 0,
        status INTEGER,
        latency_ms REAL,
        ttfb_ms REAL,
        input_tokens INTEGER,
        output_tokens INTEGER,
        cache_read_tokens INTEGER,
        cache_write_tokens INTEGER,
        request_bytes INTEGER,
        response_bytes INTEGER,
        error TEXT,
        cost_usd REAL,
        details TEXT
    );
    CREATE INDEX requests_session ON requests(session_id);
    """,
]


def migrate(conn: sqlite3.Connection, migrations: list[str] | None = None) -> None:
    """Bring ``conn``'s schema up to date; safe to call from several processes at once."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        for number, script in enumerate((MIGRATIONS if migrations is None else migrations)[version:],
                                        start=version + 1):
            for statement in script.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {number}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
