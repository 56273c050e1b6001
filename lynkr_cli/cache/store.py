"""Where cached answers live: a SQLite file next to the ledger, or the team's PostgreSQL database.

The file is user-only (0600), WAL so several lynkr processes share it. With team storage
(``[storage] url``) every replica reads and writes the same ``entries`` table, so an answer stored by
one replica is served by any other under the same scoping rules (the keys are computed the same way
everywhere, ``cache/key.py``). Entries expire after a TTL and the store is held under a size bound by
evicting the least recently used entries. Writes are short transactions; with SQLite readers never
block writers (WAL), so two sessions can use one cache at once.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from lynkr_cli.paths import data_home

if TYPE_CHECKING:
    from lynkr_cli.storage.db import Database, Transaction


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
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM entries"
_UPSERT = (
    f"INSERT INTO entries ({', '.join(_COLUMNS)}, size, used_at) VALUES ({', '.join('?' * (len(_COLUMNS) + 2))})"
    " ON CONFLICT (key) DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in (*_COLUMNS[1:], "size", "used_at"))
)
# On a shared database the size check (a sum over the table) runs every few stores, not on each one.
_SHARED_EVICT_EVERY = 32


def _entry(row: tuple[Any, ...]) -> Entry:
    values = dict(zip(_COLUMNS, row))
    if values["embedding"] is not None:
        values["embedding"] = bytes(values["embedding"])  # PostgreSQL may hand back a memoryview
    return Entry(**values)


class CacheStore:
    """Thread-safe access to the cache's entries (a file's one connection, or the shared pool).

    ``database``: the team's database (``Storage.database(CACHE)``); without it, the SQLite file at
    ``path`` (default ``LYNKR_HOME/cache.sqlite3``).
    """

    def __init__(self, path: Path | None = None, ttl_seconds: float = 7 * 24 * 3600, max_bytes: int = 256 << 20,
                 database: Database | None = None) -> None:
        self.path = path or default_cache_path()
        self.ttl_seconds = ttl_seconds
        self.max_bytes = max_bytes
        self._owned = database is None
        if database is None:
            from lynkr_cli.storage.schema import CACHE
            from lynkr_cli.storage.sqlite import SQLiteDatabase

            database = SQLiteDatabase(self.path, CACHE)
        self.db: Database = database
        self._puts = 0
        self._lock = threading.Lock()

    @property
    def location(self) -> str:
        """The file, or the database URL without its password."""
        return self.db.label

    def close(self) -> None:
        if self._owned:
            self.db.close()

    def get(self, key: str, now: float | None = None) -> Entry | None:
        """The live entry stored under ``key``, counted as a hit."""
        now = time.time() if now is None else now
        rows = self.db.query(f"{_SELECT} WHERE key = ? AND created_at > ?", (key, now - self.ttl_seconds))
        if not rows:
            return None
        self.touch(key, now)
        return _entry(rows[0])

    def candidates(self, prefix: str, now: float | None = None, limit: int = 256) -> list[Entry]:
        """Live entries asked in the context ``prefix`` (semantic candidates), newest first."""
        now = time.time() if now is None else now
        rows = self.db.query(f"{_SELECT} WHERE prefix = ? AND created_at > ? ORDER BY created_at DESC LIMIT ?",
                             (prefix, now - self.ttl_seconds, limit))
        return [_entry(row) for row in rows]

    def touch(self, key: str, now: float | None = None) -> None:
        self.db.execute("UPDATE entries SET hits = hits + 1, used_at = ? WHERE key = ?",
                        (time.time() if now is None else now, key))

    def put(self, entry: Entry, now: float | None = None) -> None:
        """Store (or replace) an answer, then hold the store under its size bound."""
        now = time.time() if now is None else now
        size = len(entry.response) + len(entry.question or "") + len(entry.embedding or b"") + 200
        values = dict(entry.__dict__, created_at=now, hits=0)
        with self._lock:
            self._puts += 1
            check_size = self.db.dialect == "sqlite" or self._puts % _SHARED_EVICT_EVERY == 1
        with self.db.transaction() as tx:
            tx.execute(_UPSERT, [values[c] for c in _COLUMNS] + [size, now])
            if check_size:
                self._evict(tx, now)

    def _evict(self, tx: Transaction, now: float) -> None:
        tx.execute("DELETE FROM entries WHERE created_at <= ?", (now - self.ttl_seconds,))
        total = int(tx.query("SELECT COALESCE(SUM(size), 0) FROM entries")[0][0])
        if total <= self.max_bytes:
            return
        target = int(self.max_bytes * 0.9)  # evict in batches, not one row per insert
        doomed = []
        for key, size in tx.query("SELECT key, size FROM entries ORDER BY used_at"):
            if total <= target:
                break
            doomed.append(key)
            total -= size
        for start in range(0, len(doomed), 500):
            chunk = doomed[start:start + 500]
            tx.execute(f"DELETE FROM entries WHERE key IN ({', '.join('?' * len(chunk))})", chunk)

    def stats(self, now: float | None = None) -> dict[str, Any]:
        """Entries, bytes, and what the hits served so far saved (at the usage the answer first cost)."""
        now = time.time() if now is None else now
        row = self.db.query(
            "SELECT COUNT(*), COALESCE(SUM(size), 0), COALESCE(SUM(hits), 0),"
            " COALESCE(SUM(hits * (COALESCE(input_tokens, 0) + COALESCE(cache_read_tokens, 0)"
            " + COALESCE(cache_write_tokens, 0))), 0),"
            " COALESCE(SUM(hits * COALESCE(output_tokens, 0)), 0), COALESCE(SUM(hits * COALESCE(cost_usd, 0)), 0),"
            " COALESCE(SUM(CASE WHEN prefix IS NOT NULL THEN 1 ELSE 0 END), 0), MIN(created_at), MAX(created_at),"
            " COALESCE(SUM(CASE WHEN created_at <= ? THEN 1 ELSE 0 END), 0)"
            " FROM entries",
            (now - self.ttl_seconds,),
        )[0]
        keys = ("entries", "bytes", "hits", "saved_input_tokens", "saved_output_tokens", "saved_usd",
                "semantic_entries", "oldest", "newest", "expired")
        result: dict[str, Any] = dict(zip(keys, row))
        for name in keys[:7] + ("expired",):  # PostgreSQL sums integers as numeric (Decimal)
            result[name] = float(result[name]) if name == "saved_usd" else int(result[name])
        result["path"] = self.location
        if self.db.dialect == "sqlite":
            result["file_bytes"] = sum(p.stat().st_size for p in _files(self.path) if p.exists())
        else:
            result["file_bytes"] = int(self.db.query("SELECT pg_total_relation_size('entries')")[0][0])
        return result

    def clear(self) -> int:
        """Delete every entry; returns how many there were."""
        count = self.db.execute("DELETE FROM entries")
        if self.db.dialect == "sqlite":
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self.db.execute("VACUUM")
        return count


def _files(path: Path) -> Iterator[Path]:
    yield path
    yield path.with_name(path.name + "-wal")
    yield path.with_name(path.name + "-shm")
