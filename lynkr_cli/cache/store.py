"""The cache file: SQLite next to the ledger, user-only (0600), WAL so several lynkr processes share it.

Entries expire after a TTL and the file is held under a size bound by evicting the least recently
used entries. Each process opens its own connection; writes are short transactions and readers never
block writers (WAL), so two sessions can use one cache at once.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from lynkr_cli.paths import data_home

_MIGRATIONS = [
    """
    CREATE TABLE entries (
        key TEXT PRIMARY KEY,
        prefix TEXT,
        question TEXT,
        embedding BLOB,
        provider TEXT NOT NULL,
        model TEXT,
        response TEXT NOT NULL,
        input_tokens INTEGER,
        output_tokens INTEGER,
        cache_read_tokens INTEGER,
        cache_write_tokens INTEGER,
        cost_usd REAL,
        size INTEGER NOT NULL,
        created_at REAL NOT NULL,
        used_at REAL NOT NULL,
        hits INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX entries_prefix ON entries(prefix);
    CREATE INDEX entries_used ON entries(used_at);
    """,
]


def default_cache_path() -> Path:
    return data_home() / "cache.sqlite3"


@dataclass
class Entry:
    """One stored answer with the usage it cost when the upstream produced it."""

    key: str
    provider: str
    model: str | None
    response: str  # the answer as an Anthropic Messages JSON object
    prefix: str | None = None
    question: str | None = None
    embedding: bytes | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_read_tokens: int | None = None
    cache_write_tokens: int | None = None
    cost_usd: float | None = None
    created_at: float = 0.0
    hits: int = 0


_COLUMNS = ("key", "prefix", "question", "embedding", "provider", "model", "response", "input_tokens",
            "output_tokens", "cache_read_tokens", "cache_write_tokens", "cost_usd", "created_at", "hits")


class CacheStore:
    """Thread-safe access to one cache file (one connection, one lock)."""

    def __init__(self, path: Path | None = None, ttl_seconds: float = 7 * 24 * 3600, max_bytes: int = 256 << 20) -> None:
        self.path = path or default_cache_path()
        self.ttl_seconds = ttl_seconds
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._conn = _connect(self.path)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def get(self, key: str, now: float | None = None) -> Entry | None:
        """The live entry stored under ``key``, counted as a hit."""
        now = time.time() if now is None else now
        with self._lock:
            row = self._conn.execute(
                f"SELECT {', '.join(_COLUMNS)} FROM entries WHERE key = ? AND created_at > ?",
                (key, now - self.ttl_seconds),
            ).fetchone()
            if row is None:
                return None
            self._touch(key, now)
        return Entry(**dict(zip(_COLUMNS, row)))

    def candidates(self, prefix: str, now: float | None = None, limit: int = 256) -> list[Entry]:
        """Live entries asked in the context ``prefix`` (semantic candidates), newest first."""
        now = time.time() if now is None else now
        with self._lock:
            rows = self._conn.execute(
                f"SELECT {', '.join(_COLUMNS)} FROM entries WHERE prefix = ? AND created_at > ?"
                " ORDER BY created_at DESC LIMIT ?",
                (prefix, now - self.ttl_seconds, limit),
            ).fetchall()
        return [Entry(**dict(zip(_COLUMNS, row))) for row in rows]

    def touch(self, key: str, now: float | None = None) -> None:
        with self._lock:
            self._touch(key, time.time() if now is None else now)

    def _touch(self, key: str, now: float) -> None:
        self._conn.execute("UPDATE entries SET hits = hits + 1, used_at = ? WHERE key = ?", (now, key))

    def put(self, entry: Entry, now: float | None = None) -> None:
        """Store (or replace) an answer, then hold the file under its size bound."""
        now = time.time() if now is None else now
        size = len(entry.response) + len(entry.question or "") + len(entry.embedding or b"") + 200
        values = dict(entry.__dict__, created_at=now, hits=0)
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.execute(
                    f"INSERT OR REPLACE INTO entries ({', '.join(_COLUMNS)}, size, used_at)"
                    f" VALUES ({', '.join('?' * len(_COLUMNS))}, ?, ?)",
                    [values[c] for c in _COLUMNS] + [size, now],
                )
                self._evict(now)
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise

    def _evict(self, now: float) -> None:
        self._conn.execute("DELETE FROM entries WHERE created_at <= ?", (now - self.ttl_seconds,))
        total = self._conn.execute("SELECT COALESCE(SUM(size), 0) FROM entries").fetchone()[0]
        if total <= self.max_bytes:
            return
        target = int(self.max_bytes * 0.9)  # evict in batches, not one row per insert
        for key, size in self._conn.execute("SELECT key, size FROM entries ORDER BY used_at").fetchall():
            if total <= target:
                break
            self._conn.execute("DELETE FROM entries WHERE key = ?", (key,))
            total -= size

    def stats(self, now: float | None = None) -> dict[str, Any]:
        """Entries, bytes, and what the hits served so far saved (at the usage the answer first cost)."""
        now = time.time() if now is None else now
        with self._lock:
            row = self._conn.execute(
                "SELECT COUNT(*), COALESCE(SUM(size), 0), COALESCE(SUM(hits), 0),"
                " COALESCE(SUM(hits * (COALESCE(input_tokens, 0) + COALESCE(cache_read_tokens, 0)"
                " + COALESCE(cache_write_tokens, 0))), 0),"
                " COALESCE(SUM(hits * COALESCE(output_tokens, 0)), 0), COALESCE(SUM(hits * COALESCE(cost_usd, 0)), 0),"
                " COALESCE(SUM(CASE WHEN prefix IS NOT NULL THEN 1 ELSE 0 END), 0), MIN(created_at), MAX(created_at),"
                " COALESCE(SUM(CASE WHEN created_at <= ? THEN 1 ELSE 0 END), 0)"
                " FROM entries",
                (now - self.ttl_seconds,),
            ).fetchone()
        keys = ("entries", "bytes", "hits", "saved_input_tokens", "saved_output_tokens", "saved_usd",
                "semantic_entries", "oldest", "newest", "expired")
        result = dict(zip(keys, row))
        result["path"] = str(self.path)
        result["file_bytes"] = sum(p.stat().st_size for p in _files(self.path) if p.exists())
        return result

    def clear(self) -> int:
        """Delete every entry; returns how many there were."""
        with self._lock:
            count = self._conn.execute("DELETE FROM entries").rowcount
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._conn.execute("VACUUM")
        return count


def _files(path: Path) -> Iterator[Path]:
    yield path
    yield path.with_name(path.name + "-wal")
    yield path.with_name(path.name + "-shm")


def _connect(path: Path) -> sqlite3.Connection:
    from lynkr_cli.ledger.store import connect

    return connect(path, _MIGRATIONS)
