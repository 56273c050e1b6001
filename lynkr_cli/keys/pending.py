"""Spend a replica has seen finish but its ledger has not committed yet, shared with the others.

The durable spend counters grow when the ledger's writer commits a request's row (``ledger/spend.py``),
which waits for PostgreSQL to flush its log: milliseconds on a good disk, a quarter of a second on a
busy one, long enough for other replicas to admit a dozen requests of a key that is already over its
budget. So each replica also keeps, per key with a budget, the dollars of its finished requests not
committed yet, and publishes that figure (not each request) to ``spend_pending`` within
``INTERVAL_S``; a budget check adds every other replica's figure to the counters. The table is
UNLOGGED on PostgreSQL (no flush to wait for) and a replica's row counts only while it is refreshed,
so a replica that died stops counting after ``STALE_S`` (its rows, spooled, are counted when replayed).

Between a commit and the next publication a request is counted twice: the check errs on the refusing
side for a few milliseconds, never on the spending side.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from typing import Callable

from lynkr_cli.ledger.spend import key_scope
from lynkr_cli.storage.db import Database, DatabaseUnavailable

log = logging.getLogger("lynkr.keys")
INTERVAL_S = 0.005
HEARTBEAT_S = 10.0
STALE_S = 30.0


class PendingSpend:
    """This replica's uncommitted spend per key; ``publish`` off: kept here only (one process, SQLite)."""

    def __init__(self, db: Database, publish: bool, wants: Callable[[str], bool]) -> None:
        self.db = db
        self.replica = f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
        self._wants = wants
        self._local: dict[str, float] = {}
        self._dirty: set[str] = set()
        self._beats: dict[str, float] = {}
        self._lock = threading.Lock()
        self._changed = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._swept = 0.0
        if publish:
            self._thread = threading.Thread(target=self._run, name="lynkr-pending-spend", daemon=True)
            self._thread.start()

    def add(self, key: str, usd: float) -> None:
        with self._lock:
            self._local[key] = self._local.get(key, 0.0) + usd
            self._dirty.add(key)
        self._changed.set()

    def local(self, key: str) -> float:
        with self._lock:
            return max(0.0, self._local.get(key, 0.0))

    def others_sql(self) -> tuple[str, tuple[object, ...]]:
        """The part of a check's query that sums other replicas' fresh figures for one scope."""
        return ("SELECT 'pending', COALESCE(SUM(usd), 0) FROM spend_pending WHERE scope = ? AND replica <> ?"
                " AND updated_at > ?", (self.replica, time.time() - STALE_S))

    def close(self) -> None:
        """Stop publishing and withdraw this replica's figures."""
        self._stop.set()
        self._changed.set()
        if self._thread is not None:
            self._thread.join(5)
            try:
                self.db.execute("DELETE FROM spend_pending WHERE replica = ?", (self.replica,))
            except DatabaseUnavailable:
                pass

    def _run(self) -> None:
        while not self._stop.is_set():
            self._changed.wait(HEARTBEAT_S)
            if self._stop.is_set():
                return
            self._changed.clear()
            time.sleep(INTERVAL_S)  # let a burst of finishes become one write
            now = time.time()
            with self._lock:
                due = {k for k, v in self._local.items() if v > 0 and now - self._beats.get(k, 0) > HEARTBEAT_S / 2}
                keys = {k for k in self._dirty | due if self._wants(k)}
                self._dirty.clear()
                values = [(key_scope(k), self.replica, max(0.0, self._local.get(k, 0.0)), now) for k in sorted(keys)]
            if not values:
                continue
            try:
                self.db.execute(
                    "INSERT INTO spend_pending (scope, replica, usd, updated_at) VALUES "
                    + ", ".join(["(?, ?, ?, ?)"] * len(values))
                    + " ON CONFLICT (scope, replica) DO UPDATE SET usd = excluded.usd, updated_at = excluded.updated_at",
                    [v for row in values for v in row])
                with self._lock:
                    for k in keys:
                        self._beats[k] = now
                if now - self._swept > 3600:  # rows of replicas that died without withdrawing them
                    self._swept = now
                    self.db.execute("DELETE FROM spend_pending WHERE updated_at < ?", (now - 3600,))
            except DatabaseUnavailable:
                with self._lock:
                    self._dirty |= keys
                self._stop.wait(0.5)
            except Exception as exc:  # a figure not published makes budgets on other replicas later, not wrong
                log.warning("pending spend not published: %s", exc)
