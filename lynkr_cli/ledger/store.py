"""SQLite ledger: one writer thread per process, WAL so several lynkr processes can share a file.

Writes never run on the proxy's event loop: ``record_request`` only enqueues. Every row is committed
as soon as the writer takes it, so a crash loses at most the row being written, and the next start
marks sessions whose process has died as ``interrupted`` (see ``repair_unfinished``).
"""

from __future__ import annotations

import json
import os
import queue
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, Callable

from lynkr_cli.ledger.migrations import migrate
from lynkr_cli.ledger.records import RequestRecord, SessionRecord
from lynkr_cli.paths import data_home, ensure_private_dir
from lynkr_cli.redact import redact_text

_STOP = object()


def default_ledger_path() -> Path:
    return data_home() / "ledger.sqlite3"


def connect(path: Path, migrations: list[str] | None = None) -> sqlite3.Connection:
    """Open the ledger (or, with its own ``migrations``, another lynkr database such as the response
    cache) with user-only permissions, WAL, a busy timeout, and the current schema."""
    try:
        ensure_private_dir(path.parent)
        if not path.exists():
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    except OSError as exc:  # LYNKR_HOME under a file, a read-only disk: one line, not a traceback
        from lynkr_cli.errors import LynkrError

        raise LynkrError(f"cannot create {path}: {exc.strerror or exc} (set LYNKR_HOME to a directory you "
                         "can write)") from None
    conn = sqlite3.connect(path, timeout=10.0, isolation_level=None, check_same_thread=False)
    try:
        _enable_wal(conn, timeout=10.0)
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA busy_timeout=10000")
        migrate(conn, migrations)
    except sqlite3.DatabaseError as exc:
        conn.close()
        if type(exc) is not sqlite3.DatabaseError:  # locked, read-only…: SQLite's own words say it
            raise
        from lynkr_cli.errors import LynkrError

        # "file is not a database", "database disk image is malformed": one line saying what to do.
        raise LynkrError(f"{path} is not a readable lynkr database ({exc}); move it aside or delete it, "
                         "and lynkr starts a new one") from None
    return conn


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


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def repair_unfinished(conn: sqlite3.Connection, own_pid: int | None = None) -> int:
    """Mark sessions left ``running`` by a process that no longer exists as ``interrupted``.

    Their end time becomes the last request's end (or the start), so durations stay honest.
    Returns how many sessions were repaired.
    """
    rows = conn.execute("SELECT id, pid, started_at FROM sessions WHERE status = 'running'").fetchall()
    repaired = 0
    for session_id, pid, started_at in rows:
        if pid is None or pid == own_pid or _pid_alive(pid):
            continue
        last = conn.execute(
            "SELECT MAX(started_at + COALESCE(latency_ms, 0) / 1000.0) FROM requests WHERE session_id = ?",
            (session_id,),
        ).fetchone()[0]
        conn.execute(
            "UPDATE sessions SET status = 'interrupted', ended_at = ? WHERE id = ? AND status = 'running'",
            (last or started_at, session_id),
        )
        repaired += 1
    return repaired


class Ledger:
    """The write side of the ledger, owned by one process."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_ledger_path()
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._error: BaseException | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lynkr-ledger", daemon=True)
        self._thread.start()

    # -- public API (thread-safe, non-blocking) --------------------------------------------------
    def start_session(self, session: SessionRecord) -> None:
        self._queue.put(("session", session))

    def record_request(self, record: RequestRecord) -> None:
        self._queue.put(("request", record))

    def finish_session(self, session_id: str, exit_code: int | None, status: str = "finished") -> None:
        self._queue.put(("finish", (session_id, exit_code, status, time.time())))

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything enqueued so far is committed. False if the writer is stuck."""
        done = threading.Event()
        self._queue.put(("barrier", done))
        return done.wait(timeout)

    def close(self, timeout: float = 10.0) -> None:
        self._queue.put(_STOP)
        self._thread.join(timeout)

    @property
    def error(self) -> BaseException | None:
        """The error that stopped the writer, if any (reported at exit, never raised into the proxy)."""
        return self._error

    # -- writer thread ---------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            conn = connect(self.path)
            repair_unfinished(conn, own_pid=os.getpid())
        except BaseException as exc:  # the ledger must never take the agent down with it
            self._error = exc
            self._drain_after_failure()
            return
        handlers: dict[str, Callable[[sqlite3.Connection, Any], None]] = {
            "session": _insert_session,
            "request": _insert_request,
            "finish": _finish_session,
        }
        while True:
            item = self._queue.get()
            if item is _STOP:
                break
            kind, payload = item
            if kind == "barrier":
                payload.set()
                continue
            try:
                handlers[kind](conn, payload)
            except sqlite3.Error as exc:
                self._error = exc
        conn.close()

    def _drain_after_failure(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            if item[0] == "barrier":
                item[1].set()


def _insert_session(conn: sqlite3.Connection, s: SessionRecord) -> None:
    conn.execute(
        "INSERT INTO sessions (id, agent, argv, cwd, started_at, status, pid, lynkr_version, upstream)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (s.id, s.agent, json.dumps(s.argv), s.cwd, s.started_at, s.status, s.pid, s.lynkr_version, s.upstream),
    )


_REQUEST_COLUMNS = [
    "session_id", "started_at", "route", "inbound_format", "model_requested", "model_used", "provider",
    "streamed", "status", "latency_ms", "ttfb_ms", "input_tokens", "output_tokens", "cache_read_tokens",
    "cache_write_tokens", "request_bytes", "response_bytes", "error", "cost_usd", "details",
]
_INSERT_REQUEST = (
    f"INSERT INTO requests ({', '.join(_REQUEST_COLUMNS)}) VALUES ({', '.join('?' * len(_REQUEST_COLUMNS))})"
)


def _insert_request(conn: sqlite3.Connection, r: RequestRecord) -> None:
    row = r.as_row()
    row["details"] = redact_text(json.dumps(r.details)) if r.details else None
    if row["error"]:  # upstream error messages can echo the credential they rejected
        row["error"] = redact_text(row["error"])
    conn.execute(_INSERT_REQUEST, [row[c] for c in _REQUEST_COLUMNS])


def _finish_session(conn: sqlite3.Connection, payload: tuple[str, int | None, str, float]) -> None:
    session_id, exit_code, status, ended_at = payload
    conn.execute(
        "UPDATE sessions SET ended_at = ?, exit_code = ?, status = ? WHERE id = ?",
        (ended_at, exit_code, status, session_id),
    )


class LedgerReader:
    """The read side: sessions and their requests, as plain dicts for reports and ``--json``."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_ledger_path()
        self._conn: sqlite3.Connection | None = None

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = connect(self.path)
            self._conn.row_factory = sqlite3.Row
        return self._conn

    def exists(self) -> bool:
        return self.path.exists()

    def sessions(self, last: int = 1, since: float | None = None) -> list[dict[str, Any]]:
        """The most recent ``last`` sessions (or all since a time), newest first."""
        sql = "SELECT * FROM sessions"
        params: list[Any] = []
        if since is not None:
            sql += " WHERE started_at >= ?"
            params.append(since)
        sql += " ORDER BY started_at DESC"
        if last > 0:
            sql += " LIMIT ?"
            params.append(last)
        return [_session_dict(row) for row in self._db().execute(sql, params)]

    def session(self, session_id: str) -> dict[str, Any] | None:
        """One session by id, or by a unique prefix of it."""
        rows = self._db().execute(
            "SELECT * FROM sessions WHERE id = ? OR id LIKE ? ORDER BY started_at DESC LIMIT 2",
            (session_id, session_id + "%"),
        ).fetchall()
        exact = [r for r in rows if r["id"] == session_id]
        if exact:
            return _session_dict(exact[0])
        return _session_dict(rows[0]) if len(rows) == 1 else None

    def session_ids(self, prefix: str, limit: int = 4) -> list[str]:
        """Up to ``limit`` ids starting with ``prefix``, newest first: the candidates an ambiguous
        prefix stands for, so the user is told to type more rather than that nothing matched."""
        rows = self._db().execute(
            "SELECT id FROM sessions WHERE substr(id, 1, ?) = ? ORDER BY started_at DESC LIMIT ?",
            (len(prefix), prefix, limit),
        )
        return [row["id"] for row in rows]

    def requests(self, session_id: str) -> list[dict[str, Any]]:
        rows = self._db().execute(
            "SELECT * FROM requests WHERE session_id = ? ORDER BY started_at, id", (session_id,)
        )
        out = []
        for row in rows:
            item = dict(row)
            item["streamed"] = bool(item["streamed"])
            item["details"] = json.loads(item["details"]) if item["details"] else {}
            out.append(item)
        return out

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _session_dict(row: sqlite3.Row) -> dict[str, Any]:
    item = dict(row)
    item["argv"] = json.loads(item["argv"])
    return item
