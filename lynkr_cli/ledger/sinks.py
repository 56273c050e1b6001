"""Where the ledger's writer thread puts rows: a SQLite file, or the shared database with a spool.

Both write a batch of rows in one transaction with the same SQL (``ledger/rows.py``). A batch that
fails for a reason other than an outage is retried row by row, so one bad row costs only itself.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Callable, Protocol

from lynkr_cli.ledger import rows
from lynkr_cli.ledger.rows import Item
from lynkr_cli.ledger.spool import Spool
from lynkr_cli.storage.db import Database, DatabaseUnavailable

log = logging.getLogger("lynkr.ledger")


class Sink(Protocol):
    error: BaseException | None
    # Seconds the writer lets rows gather after the first of a batch before writing them: the proxy's
    # thread then hands rows over without waking the writer for each (bench/RESULTS.md, "Hot path (issue 19)").
    linger: float

    def write(self, items: list[Item]) -> None:
        """Write (or keep for later) ``items``; never raises for a database that went away."""
        ...

    def idle_wait(self) -> float | None:
        """Seconds the writer may sleep before calling ``tick`` again (None: no need)."""
        ...

    def tick(self) -> None:
        """Background work between batches (replaying the spool)."""
        ...

    def close(self) -> None: ...


def write_batch(db: Database, items: list[Item]) -> BaseException | None:
    """``items`` in one transaction, else one by one; the last row error, if any. Raises only
    ``DatabaseUnavailable``."""
    try:
        if db.dialect == "postgresql" and all(kind == "request" for kind, _ in items):
            for start in range(0, len(items), 200):  # the common batch: one statement, one round trip
                db.execute(*rows.postgres_insert_requests([row for _, row in items[start:start + 200]]))
            return None
        with db.transaction() as tx:
            rows.write(tx, items)
        return None
    except DatabaseUnavailable:
        raise
    except Exception:  # a bad row (or a bug): write the others
        pass
    error: BaseException | None = None
    for item in items:
        try:
            with db.transaction() as tx:
                rows.write(tx, [item])
        except DatabaseUnavailable:
            raise
        except Exception as exc:
            log.error("ledger row not written (%s): %s", item[0], exc)
            error = exc
    return error


Committed = Callable[[list[Item]], None]


class SQLiteSink:
    """The single-user ledger file."""

    # One process writes it; a reader that needs its rows now calls ``flush`` (at most this much later).
    linger = 0.05

    def __init__(self, path: Path, committed: Committed | None = None) -> None:
        from lynkr_cli.storage.schema import LEDGER
        from lynkr_cli.storage.sqlite import SQLiteDatabase

        self.error: BaseException | None = None
        self.db = SQLiteDatabase(path, LEDGER)
        self._committed = committed
        repair_unfinished(self.db, own_pid=os.getpid())

    def write(self, items: list[Item]) -> None:
        error = write_batch(self.db, items)
        if error is not None:
            self.error = error
        if self._committed is not None:
            self._committed(items)

    def idle_wait(self) -> float | None:
        return None

    def tick(self) -> None:
        pass

    def close(self) -> None:
        self.db.close()


class SharedSink:
    """The shared database; while it cannot be reached, the local spool, replayed in order after."""

    RETRY_S = 0.5
    # Other replicas count a key's spend from these rows (keys/limits.py): written as they come.
    linger = 0.0

    def __init__(self, connect: Callable[[], Database], spool: Spool, committed: Committed | None = None) -> None:
        self.error: BaseException | None = None
        self.spool = spool
        self._committed = committed
        self._connect = connect
        self._db: Database | None = None
        self._next_try = 0.0
        self._ensure_db()
        if self._db is not None:
            repair_unfinished(self._db, own_pid=os.getpid())

    @property
    def replayed(self) -> bool:
        return self.spool.pending == 0

    def write(self, items: list[Item]) -> None:
        if self.spool.pending:
            self.tick()
        db = self._usable()
        if db is None or self.spool.pending:
            self.spool.add(items)  # behind the rows already waiting: order is kept
            return
        try:
            error = write_batch(db, items)
        except DatabaseUnavailable:
            self.spool.add(items)
            return
        if error is not None:
            self.error = error
        if self._committed is not None:
            self._committed(items)

    def idle_wait(self) -> float | None:
        return self.RETRY_S if self.spool.pending else None

    def tick(self) -> None:
        """Replay the spool, oldest first, while the database answers."""
        db = self._usable()
        if db is None:
            return
        while (batch := self.spool.peek()) is not None:
            spool_file, last_seq, items = batch
            try:
                error = write_batch(db, items)
            except DatabaseUnavailable:
                return
            if error is not None:
                self.error = error
            self.spool.done(spool_file, last_seq, len(items))
            if self._committed is not None:
                self._committed(items)

    def close(self) -> None:
        self.tick()
        self.spool.close()

    def _usable(self) -> Database | None:
        db = self._ensure_db()
        if db is None:
            return None
        return db if db.up else None

    def _ensure_db(self) -> Database | None:
        if self._db is None and time.monotonic() >= self._next_try:
            try:
                self._db = self._connect()
            except DatabaseUnavailable as exc:
                log.warning("ledger: %s; rows are spooled until it answers", exc)
                self._next_try = time.monotonic() + self.RETRY_S * 4
        return self._db


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def repair_unfinished(db: Database, own_pid: int | None = None) -> int:
    """Mark sessions this machine's processes left ``running`` and that no longer exist as
    ``interrupted`` (other machines' sessions are theirs to repair).

    Their end time becomes the last request's end (or the start), so durations stay honest.
    Returns how many sessions were repaired.
    """
    found = db.query("SELECT id, pid, started_at FROM sessions WHERE status = 'running' AND (host IS NULL OR host = ?)",
                     (rows.HOST,))
    repaired = 0
    for session_id, pid, started_at in found:
        if pid is None or pid == own_pid or _pid_alive(pid):
            continue
        last = db.query(
            "SELECT MAX(started_at + COALESCE(latency_ms, 0) / 1000.0) FROM requests WHERE session_id = ?",
            (session_id,),
        )[0][0]
        db.execute("UPDATE sessions SET status = 'interrupted', ended_at = ? WHERE id = ? AND status = 'running'",
                   (last or started_at, session_id))
        repaired += 1
    return repaired
