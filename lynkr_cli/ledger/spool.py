"""The ledger's local spool: rows kept on disk while the shared database cannot be reached.

Each process spools into a SQLite file of its own under ``LYNKR_HOME/spool/`` and holds an exclusive
``flock`` on it for as long as it runs. Rows go in, in order, and come out in the same order once the
database answers again; a row leaves the spool only after the database committed it, and writing it
twice is harmless (``ledger/rows.py``), so nothing is lost or duplicated, even when the process dies
between the two. A spool whose lock is free belongs to a process that died: the next lynkr on this
machine with the same ``LYNKR_HOME`` adopts it and replays it.

The spool is bounded (``[storage] spool_max_rows``): past the bound new rows are dropped, counted and
logged, rather than filling the disk during a long outage.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import secrets
import sqlite3
from pathlib import Path


from lynkr_cli.ledger.rows import HOST, Item
from lynkr_cli.paths import ensure_private_dir

log = logging.getLogger("lynkr.ledger")


class _File:
    """One spool file and the lock that says its owner is alive."""

    def __init__(self, path: Path, lock_fd: int) -> None:
        self.path = path
        self.lock_fd = lock_fd
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("CREATE TABLE IF NOT EXISTS items (seq INTEGER PRIMARY KEY, kind TEXT NOT NULL,"
                          " payload TEXT NOT NULL)")

    def count(self) -> int:
        return int(self.conn.execute("SELECT COUNT(*) FROM items").fetchone()[0])

    def remove(self) -> None:
        self.conn.close()
        for suffix in ("", "-wal", "-shm"):
            Path(str(self.path) + suffix).unlink(missing_ok=True)
        Path(str(self.path) + ".lock").unlink(missing_ok=True)
        os.close(self.lock_fd)


class Spool:
    """Rows waiting for the database: this process's file, and any adopted from dead processes."""

    def __init__(self, directory: Path, max_rows: int = 100_000) -> None:
        self.directory = directory
        self.max_rows = max_rows
        self.dropped = 0
        self._own: _File | None = None
        self._orphans: list[_File] = []
        self._pending = 0
        self.adopt()

    @property
    def pending(self) -> int:
        """Rows waiting, in every file this process holds."""
        return self._pending

    def adopt(self) -> int:
        """Take over the spools of processes that died; returns how many rows they hold."""
        if not self.directory.is_dir():
            return 0
        found = 0
        own = self._own.path if self._own is not None else None
        held = {f.path for f in self._orphans}
        for path in sorted(self.directory.glob("*.sqlite3")):
            if path == own or path in held:
                continue
            fd = _try_lock(Path(str(path) + ".lock"))
            if fd is None:
                continue  # its process is alive and will replay it
            spool = _File(path, fd)
            rows = spool.count()
            self._orphans.append(spool)
            self._pending += rows
            found += rows
        if found:
            log.warning("adopted %d spooled ledger row(s) from a lynkr process that stopped", found)
        return found

    def add(self, items: list[Item]) -> None:
        """Keep ``items`` for later, as far as the bound allows."""
        room = max(0, self.max_rows - self._pending)
        if len(items) > room:
            self.dropped += len(items) - room
            log.error("ledger spool full (%d rows): %d row(s) dropped", self.max_rows, len(items) - room)
            items = items[:room]
        if not items:
            return
        own = self._own_file()
        own.conn.execute("BEGIN")
        try:
            own.conn.executemany("INSERT INTO items (kind, payload) VALUES (?, ?)",
                                 [(kind, json.dumps(row)) for kind, row in items])
        except BaseException:
            own.conn.execute("ROLLBACK")
            raise
        own.conn.execute("COMMIT")
        self._pending += len(items)

    def peek(self, limit: int = 500) -> tuple[_File, int, list[Item]] | None:
        """The oldest waiting rows: (their file, the last sequence number, the rows)."""
        for spool in [*self._orphans, *([self._own] if self._own is not None else [])]:
            rows = spool.conn.execute("SELECT seq, kind, payload FROM items ORDER BY seq LIMIT ?", (limit,)).fetchall()
            if rows:
                return spool, rows[-1][0], [(kind, json.loads(payload)) for _, kind, payload in rows]
            if spool is not self._own:  # an adopted spool fully replayed
                spool.remove()
                self._orphans.remove(spool)
        return None

    def done(self, spool: _File, last_seq: int, count: int) -> None:
        """The rows up to ``last_seq`` of ``spool`` are in the database: forget them."""
        spool.conn.execute("DELETE FROM items WHERE seq <= ?", (last_seq,))
        self._pending = max(0, self._pending - count)

    def close(self) -> None:
        """Stop (rows still waiting stay on disk for the next lynkr to adopt)."""
        for spool in [*self._orphans, *([self._own] if self._own is not None else [])]:
            empty = spool.count() == 0
            if empty:
                spool.remove()
            else:
                spool.conn.close()
                os.close(spool.lock_fd)
        self._orphans.clear()
        self._own = None

    def _own_file(self) -> _File:
        if self._own is None:
            ensure_private_dir(self.directory)
            path = self.directory / f"{HOST}-{os.getpid()}-{secrets.token_hex(4)}.sqlite3"
            fd = _try_lock(Path(str(path) + ".lock"))
            assert fd is not None, "a new spool file cannot be locked by anyone else"
            self._own = _File(path, fd)
            os.chmod(path, 0o600)
        return self._own


def _try_lock(path: Path) -> int | None:
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


