"""The ledger: one writer thread per process, and the reader reports use.

Writes never run on the proxy's event loop: ``record_request`` only enqueues. The writer takes what
is queued in batches and commits each batch at once, so a crash loses at most the batch being
written, and the next start marks sessions whose process has died as ``interrupted``
(``ledger/sinks.py:repair_unfinished``). With team storage the rows go to PostgreSQL, through the
local spool while it cannot be reached (``ledger/spool.py``).
"""

from __future__ import annotations

import json
import queue
import sqlite3
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

from lynkr_cli.errors import LynkrError
from lynkr_cli.ledger import rows
from lynkr_cli.ledger.records import RequestRecord, SessionRecord
from lynkr_cli.ledger.sinks import Sink, repair_unfinished
from lynkr_cli.paths import data_home
from lynkr_cli.storage.sqlite import connect

if TYPE_CHECKING:
    from lynkr_cli.storage import Database, Storage

__all__ = ["Ledger", "LedgerReader", "connect", "default_ledger_path", "repair_unfinished"]

_STOP = object()
_BATCH = 500


def default_ledger_path() -> Path:
    return data_home() / "ledger.sqlite3"


class Ledger:
    """The write side of the ledger, owned by one process.

    ``storage``: team storage (``lynkr_cli/storage``); without it, or without a URL in it, the SQLite
    file at ``path`` (default: ``LYNKR_HOME/ledger.sqlite3``).
    """

    def __init__(self, path: Path | None = None, storage: Storage | None = None,
                 resolve_storage: Callable[[], Storage | None] | None = None) -> None:
        """``resolve_storage``: called on the writer thread to find the storage (``lynkr run`` must not
        wait for the settings before its proxy starts)."""
        self.storage = storage if storage is not None and storage.shared else None
        self._resolve = resolve_storage
        # Told of the request rows each commit wrote (e.g. key limits, which count spend until then).
        self.commit_listeners: list[Callable[[list[dict[str, Any]]], None]] = []
        self.path = path or (storage.home / "ledger.sqlite3" if storage is not None else default_ledger_path())
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._error: BaseException | None = None
        self._sink: Sink | None = None
        # Set by whatever must not wait out a batch's linger (a session's end, a flush, closing).
        self._hurry = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lynkr-ledger", daemon=True)
        self._thread.start()

    # -- public API (thread-safe, non-blocking) --------------------------------------------------
    def start_session(self, session: SessionRecord) -> None:
        self._queue.put(("session", session))

    def record_request(self, record: RequestRecord) -> None:
        self._queue.put(("request", record))

    def finish_session(self, session_id: str, exit_code: int | None, status: str = "finished") -> None:
        self._queue.put(("finish", (session_id, exit_code, status, time.time())))
        self._hurry.set()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything enqueued so far is committed (or spooled). False if the writer is stuck."""
        done = threading.Event()
        self._queue.put(("barrier", done))
        self._hurry.set()
        return done.wait(timeout)

    def close(self, timeout: float = 10.0) -> None:
        self._queue.put(_STOP)
        self._hurry.set()
        self._thread.join(timeout)

    @property
    def error(self) -> BaseException | None:
        """The error that stopped the writer or lost a row, if any (reported at exit, never raised
        into the proxy)."""
        error = self._sink.error if self._error is None and self._sink is not None else self._error
        if isinstance(error, sqlite3.Error) and not isinstance(error, LynkrError):  # a row lost to a bad page
            from lynkr_cli.storage.sqlite import unusable

            return unusable(self.path, error)
        return error

    @property
    def spooled(self) -> int:
        """Rows waiting in the local spool for the shared database (0 on SQLite)."""
        from lynkr_cli.ledger.sinks import SharedSink

        sink = self._sink
        return sink.spool.pending if isinstance(sink, SharedSink) else 0

    def reader(self) -> LedgerReader:
        """A reader of the same store this ledger writes to."""
        if self.storage is not None:
            from lynkr_cli.storage.schema import LEDGER

            return LedgerReader(database=self.storage.database(LEDGER))
        return LedgerReader(self.path)

    # -- writer thread ---------------------------------------------------------------------------
    def _open_sink(self) -> Sink:
        from lynkr_cli.ledger.sinks import SharedSink, SQLiteSink

        if self.storage is None and self._resolve is not None:
            self.storage = self._resolve()
        if self.storage is None:
            return SQLiteSink(self.path, self._committed)
        from lynkr_cli.ledger.spool import Spool
        from lynkr_cli.storage.schema import LEDGER

        storage = self.storage
        return SharedSink(lambda: storage.database(LEDGER), Spool(storage.home / "spool", storage.spool_max_rows),
                          self._committed)

    def _run(self) -> None:
        try:
            sink = self._sink = self._open_sink()
        except BaseException as exc:  # the ledger must never take the agent down with it
            self._error = exc
            self._drain_after_failure()
            return
        while True:
            wait = sink.idle_wait()
            try:
                first = self._queue.get(timeout=wait) if wait is not None else self._queue.get()
            except queue.Empty:
                sink.tick()
                continue
            batch = [first]
            if sink.linger and first is not _STOP and first[0] == "request":
                # Rows arriving meanwhile join this batch (one transaction), and their ``put`` wakes no
                # thread: waking this one for every row made it take the GIL in the middle of the
                # proxy's next request (bench/RESULTS.md, "Hot path (issue 19)"). ``flush`` waits at
                # most this long, and not at all once something is waiting on the writer: a session's
                # end, a flush or closing (``lynkr run``'s exit) cuts the linger short.
                self._hurry.wait(sink.linger)
            self._hurry.clear()
            while len(batch) < _BATCH and not _ends_batch(batch[-1]):
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            if not self._handle(sink, batch):
                sink.close()
                return

    def _handle(self, sink: Sink, batch: list[Any]) -> bool:
        """Write ``batch``, releasing barriers once what came before them is written. False at stop."""
        pending: list[rows.Item] = []
        for item in batch:
            if item is _STOP or item[0] == "barrier":
                if pending:
                    sink.write(pending)
                    pending = []
                if item is _STOP:
                    return False
                item[1].set()
                continue
            try:
                pending.append(rows.to_item(*item))
            except Exception as exc:  # a record that cannot be serialized: lose it, not the others
                self._error = exc
        if pending:
            sink.write(pending)
        return True

    def _committed(self, items: list[rows.Item]) -> None:
        requests = [row for kind, row in items if kind == "request"]
        for listener in self.commit_listeners if requests else ():
            try:
                listener(requests)
            except Exception:  # a listener's bug must not stop the writer
                import logging

                logging.getLogger("lynkr.ledger").exception("commit listener failed")

    def _drain_after_failure(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            if item[0] == "barrier":
                item[1].set()


def _ends_batch(item: Any) -> bool:
    """A barrier or the stop: written now, not after the batch's wait."""
    return item is _STOP or item[0] == "barrier"


class LedgerReader:
    """The read side: sessions and their requests, as plain dicts for reports and ``--json``.

    Reads the SQLite file at ``path`` (default ``LYNKR_HOME/ledger.sqlite3``), or ``database``: the
    same queries on either engine give the same rows.
    """

    def __init__(self, path: Path | None = None, database: Database | None = None) -> None:
        self.path = path or default_ledger_path()
        self._db_given = database
        self._database = database

    @property
    def label(self) -> str:
        return self._database.label if self._database is not None else str(self.path)

    def _db(self) -> Database:
        if self._database is None:
            from lynkr_cli.storage.schema import LEDGER
            from lynkr_cli.storage.sqlite import SQLiteDatabase

            opened: Database = SQLiteDatabase(self.path, LEDGER)
            self._database = opened
            return opened
        return self._database

    def exists(self) -> bool:
        return self._db_given is not None or self.path.exists()

    def _dicts(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """The rows of a query; a corrupt page of the file on the way is its one-line error."""
        try:
            return self._db().query_dicts(sql, params)
        except sqlite3.Error as exc:
            if isinstance(exc, LynkrError):
                raise
            from lynkr_cli.storage.sqlite import unusable

            raise unusable(self.path, exc) from None

    def sessions(self, last: int = 1, since: float | None = None) -> list[dict[str, Any]]:
        """The most recent ``last`` sessions (or all since a time), newest first."""
        sql = "SELECT * FROM sessions"
        params: list[Any] = []
        if since is not None:
            sql += " WHERE started_at >= ?"
            params.append(since)
        sql += " ORDER BY started_at DESC, id DESC"
        if last > 0:
            sql += " LIMIT ?"
            params.append(last)
        return [_session_dict(row) for row in self._dicts(sql, params)]

    def session(self, session_id: str) -> dict[str, Any] | None:
        """One session by id, or by a unique prefix of it."""
        rows_found = self._dicts(
            "SELECT * FROM sessions WHERE id = ? OR substr(id, 1, ?) = ? ORDER BY started_at DESC LIMIT 2",
            (session_id, len(session_id), session_id),
        )
        exact = [r for r in rows_found if r["id"] == session_id]
        if exact:
            return _session_dict(exact[0])
        return _session_dict(rows_found[0]) if len(rows_found) == 1 else None

    def session_ids(self, prefix: str, limit: int = 4) -> list[str]:
        """Up to ``limit`` ids starting with ``prefix``, newest first: the candidates an ambiguous
        prefix stands for, so the user is told to type more rather than that nothing matched."""
        found = self._dicts("SELECT id FROM sessions WHERE substr(id, 1, ?) = ? ORDER BY started_at DESC LIMIT ?",
                            (len(prefix), prefix, limit))
        return [row["id"] for row in found]

    def requests(self, session_id: str) -> list[dict[str, Any]]:
        out = []
        for item in self._dicts("SELECT * FROM requests WHERE session_id = ? ORDER BY started_at, id", (session_id,)):
            item.pop("uid", None)  # the writer's idempotency key: nothing a report shows
            item["streamed"] = bool(item["streamed"])
            item["details"] = json.loads(item["details"]) if item["details"] else {}
            out.append(item)
        return out

    def close(self) -> None:
        if self._database is not None and self._db_given is None:
            self._database.close()
            self._database = None


def _session_dict(row: dict[str, Any]) -> dict[str, Any]:
    item = dict(row)
    item["argv"] = json.loads(item["argv"])
    item.pop("host", None)
    return item
