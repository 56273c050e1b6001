"""SQLite files under ``LYNKR_HOME``: the embedded default for one person.

Each file is user-only (0600), in WAL mode so several lynkr processes share it (readers never block
the writer), with a busy timeout, and migrated to its component's current schema when opened.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from lynkr_cli.errors import LynkrError
from lynkr_cli.paths import ensure_private_dir
from lynkr_cli.storage.db import Params
from lynkr_cli.storage.schema import LEDGER, Component, Dialect


def connect(path: Path, component: Component = LEDGER) -> sqlite3.Connection:
    """Open ``path`` with user-only permissions, WAL, a busy timeout, and ``component``'s schema.

    Whatever is wrong with the file (a directory in its place, not a database, a corrupt page, a
    read-only disk) is one line naming it (``unusable``), never a traceback: ``lynkr run`` then keeps
    the agent's exit code, ``lynkr report`` and ``lynkr serve`` say it once."""
    try:
        ensure_private_dir(path.parent)
        if path.is_dir():
            raise unusable(path, "it is a directory")
        if not path.exists():
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    except OSError as exc:  # LYNKR_HOME under a file, a read-only disk: one line, not a traceback
        raise LynkrError(f"cannot create {path}: {exc.strerror or exc} (set LYNKR_HOME to a directory you "
                         "can write)") from None
    try:
        conn = sqlite3.connect(path, timeout=10.0, isolation_level=None, check_same_thread=False)
    except sqlite3.Error as exc:
        raise unusable(path, exc) from None
    try:
        _enable_wal(conn, timeout=10.0)
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA busy_timeout=10000")
        migrate(conn, component)
    except sqlite3.Error as exc:
        conn.close()
        raise unusable(path, exc) from None
    return conn


class UnusableDatabase(LynkrError, sqlite3.DatabaseError):
    """A lynkr database file that cannot be opened or read; still a ``sqlite3.DatabaseError``, so the
    components that fail open on one (the cache) keep doing so."""


def unusable(path: Path, cause: object) -> UnusableDatabase:
    """The one line for a file lynkr cannot use: SQLite's words ("file is not a database", "database
    disk image is malformed", "attempt to write a readonly database") and what to do."""
    if "locked" in str(cause) or "readonly" in str(cause):
        return UnusableDatabase(f"{path} cannot be used: {cause}")
    return UnusableDatabase(f"{path} is not a readable lynkr database ({cause}); move it aside or delete it, "
                            "and lynkr starts a new one")


def _enable_wal(conn: sqlite3.Connection, timeout: float) -> None:
    """Switch the file to WAL, waiting for other processes doing the same.

    SQLite answers "database is locked" at once, without its busy timeout, when another connection
    holds the lock this switch needs: two ``lynkr run`` starting together on a new ledger lost one
    session's writer that way. The mode is stored in the file, so only the first opening waits.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(0.01)


def schema_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection, component: Component) -> tuple[int, int]:
    """Bring the file up to ``component``'s schema; safe from several processes at once (the write
    lock is taken first). Returns the versions before and after."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        before = schema_version(conn)
        for number in range(before + 1, component.version + 1):
            for statement in component.statements(number, "sqlite"):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {number}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return before, max(before, component.version)


class _Tx:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Params = ()) -> int:
        return self._conn.execute(sql, params).rowcount

    def query(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]:
        return self._conn.execute(sql, params).fetchall()


class SQLiteDatabase:
    """One file, one connection shared by the process's threads under a lock (statements are short)."""

    dialect: Dialect = "sqlite"
    up = True

    def __init__(self, path: Path, component: Component = LEDGER) -> None:
        self.path = path
        self.label = str(path)
        self._lock = threading.Lock()
        self._conn = connect(path, component)

    @property
    def connection(self) -> sqlite3.Connection:
        """The raw connection, for the ledger's writer thread (which owns its own file handle)."""
        return self._conn

    def execute(self, sql: str, params: Params = ()) -> int:
        with self._lock, self._corruption():
            return self._conn.execute(sql, params).rowcount

    def query(self, sql: str, params: Params = (), wait_s: float | None = None) -> list[tuple[Any, ...]]:
        with self._lock, self._corruption():  # a file is always there: ``wait_s`` is for the network
            return self._conn.execute(sql, params).fetchall()

    def query_dicts(self, sql: str, params: Params = ()) -> list[dict[str, Any]]:
        with self._lock, self._corruption():
            cursor = self._conn.execute(sql, params)
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row)) for row in cursor.fetchall()]

    @contextmanager
    def _corruption(self) -> Iterator[None]:
        """A corrupt page met on the way ("database disk image is malformed") is the file's one-line
        error; constraint and lock errors stay what they are."""
        try:
            yield
        except sqlite3.DatabaseError as exc:
            if type(exc) is sqlite3.DatabaseError:
                raise unusable(self.path, exc) from None
            raise

    @contextmanager
    def transaction(self) -> Iterator[_Tx]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield _Tx(self._conn)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._conn.close()
