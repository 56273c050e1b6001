"""PostgreSQL through psycopg 3 and its connection pool: a team's replicas share one database.

Imported only when ``[storage] url`` names one (``lynkr run`` never loads the driver otherwise).

Availability is tracked here, once for every store: the first call that finds the server gone marks
the database *down*, and from then on calls fail at once with ``DatabaseUnavailable`` (the ledger
spools, the cache skips, key checks use what they last read, routing keeps its turns in memory)
while one monitor thread probes every half second and marks it *up* again. Nothing on a proxy's
event loop ever waits for a connection timeout during an outage; ``/readyz`` reports ``up``.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from contextlib import contextmanager
from typing import Any, Iterator
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from lynkr_cli.storage.db import DatabaseUnavailable, Params
from lynkr_cli.storage.schema import Component, Dialect

log = logging.getLogger("lynkr.storage")
_SCHEMA_LOCK = 0x6C796E6B72  # "lynkr": the advisory lock replicas take to migrate one at a time
_UNAVAILABLE = (psycopg.OperationalError, PoolTimeout)


def redact_url(url: str) -> str:
    """``url`` without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = netloc[0].split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc[1]}"))


@functools.lru_cache(maxsize=512)
def to_pyformat(sql: str) -> str:
    """SQL written with ``?`` placeholders, for psycopg (``%s``; a literal ``%`` doubled)."""
    return sql.replace("%", "%%").replace("?", "%s")


class _Tx:
    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Params = ()) -> int:
        return self._conn.execute(to_pyformat(sql), params).rowcount

    def query(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]:
        return self._conn.execute(to_pyformat(sql), params).fetchall()


class PostgresDatabase:
    """One PostgreSQL database through a pool of autocommit connections, with the up/down state above."""

    dialect: Dialect = "postgresql"

    def __init__(self, url: str, pool_size: int = 10, wait_s: float = 2.0) -> None:
        self.url = url
        self.label = redact_url(url)
        self.wait_s = wait_s
        self.up = True
        self._monitor: threading.Thread | None = None
        self._closed = False
        self._state = threading.Lock()
        logging.getLogger("psycopg.pool").setLevel(logging.CRITICAL)  # outages are reported once, below
        try:  # one direct attempt first: its error says why (refused, bad password), the pool's only "timeout"
            psycopg.connect(url, connect_timeout=max(2, int(wait_s))).close()
        except psycopg.Error as exc:
            raise DatabaseUnavailable(f"cannot reach PostgreSQL at {self.label}: {_reason(exc)}") from None
        self._pool = ConnectionPool(
            url, min_size=1, max_size=max(2, pool_size), open=False, timeout=wait_s, name="lynkr",
            kwargs={"autocommit": True, "connect_timeout": max(2, int(wait_s))}, reconnect_timeout=3600,
        )
        try:
            self._pool.open(wait=True, timeout=wait_s)
        except _UNAVAILABLE as exc:
            self._pool.close()
            raise DatabaseUnavailable(f"cannot reach PostgreSQL at {self.label}: {_reason(exc)}") from None

    # -- the Database interface ------------------------------------------------------------------
    def execute(self, sql: str, params: Params = ()) -> int:
        return self._call(lambda conn: conn.execute(to_pyformat(sql), params).rowcount)

    def query(self, sql: str, params: Params = (), wait_s: float | None = None) -> list[tuple[Any, ...]]:
        return self._call(lambda conn: conn.execute(to_pyformat(sql), params).fetchall(), wait_s)

    def query_dicts(self, sql: str, params: Params = ()) -> list[dict[str, Any]]:
        def run(conn: psycopg.Connection[Any]) -> list[dict[str, Any]]:
            cursor = conn.execute(to_pyformat(sql), params)
            names = [d.name for d in cursor.description or ()]
            return [dict(zip(names, row)) for row in cursor.fetchall()]

        return self._call(run)

    @contextmanager
    def transaction(self) -> Iterator[_Tx]:
        self._require_up()
        try:
            with self._pool.connection() as conn, conn.transaction():
                yield _Tx(conn)
        except _UNAVAILABLE as exc:
            self._went_down(exc)
            raise DatabaseUnavailable(f"PostgreSQL at {self.label} is unavailable: {_reason(exc)}") from None

    def close(self) -> None:
        self._closed = True
        self._pool.close()

    # -- availability ----------------------------------------------------------------------------
    def ping(self) -> bool:
        """One round trip; marks the database up or down accordingly."""
        try:
            with self._pool.connection(timeout=min(self.wait_s, 2.0)) as conn:
                conn.execute("SELECT 1")
        except _UNAVAILABLE as exc:
            self._went_down(exc)
            return False
        self.up = True
        return True

    def migrate(self, components: tuple[Component, ...]) -> list[tuple[str, int, int]]:
        """Bring every component up to date under an advisory lock, so replicas starting together
        migrate one after the other (the others then find nothing to do)."""
        changes = []
        with self.transaction() as tx:
            tx.execute(f"SELECT pg_advisory_xact_lock({_SCHEMA_LOCK})")
            tx.execute("CREATE TABLE IF NOT EXISTS lynkr_schema (component TEXT PRIMARY KEY, version INTEGER NOT NULL)")
            for component in components:
                found = tx.query("SELECT version FROM lynkr_schema WHERE component = ?", (component.name,))
                before = int(found[0][0]) if found else 0
                for number in range(before + 1, component.version + 1):
                    for statement in component.statements(number, "postgresql"):
                        tx.execute(statement)
                if component.version > before:
                    tx.execute("INSERT INTO lynkr_schema (component, version) VALUES (?, ?) ON CONFLICT (component)"
                               " DO UPDATE SET version = excluded.version", (component.name, component.version))
                changes.append((component.name, before, max(before, component.version)))
        return changes

    def _call(self, run: Any, wait_s: float | None = None) -> Any:
        """``run(connection)``; a connection that died with a server restart is retried once on a
        fresh one before the database counts as down. ``wait_s``: longest wait for a connection
        (callers on an event loop ask for a short one)."""
        self._require_up()
        for attempt in (1, 2):
            try:
                with self._pool.connection(timeout=wait_s) as conn:
                    return run(conn)
            except psycopg.OperationalError as exc:
                if attempt == 2 or not _is_stale(exc):
                    self._went_down(exc)
                    raise DatabaseUnavailable(f"PostgreSQL at {self.label} is unavailable: {_reason(exc)}") from None
                self._pool.check()  # drop the other connections the restart closed
            except PoolTimeout as exc:
                self._went_down(exc)
                raise DatabaseUnavailable(f"PostgreSQL at {self.label} is unavailable: {_reason(exc)}") from None
        raise AssertionError("unreachable")

    def _require_up(self) -> None:
        if not self.up:
            raise DatabaseUnavailable(f"PostgreSQL at {self.label} is unavailable (retrying in the background)")

    def _went_down(self, exc: BaseException) -> None:
        with self._state:
            if self.up:
                log.warning("PostgreSQL at %s is unavailable: %s", self.label, _reason(exc))
            self.up = False
            if self._monitor is None or not self._monitor.is_alive():
                self._monitor = threading.Thread(target=self._watch, name="lynkr-db-monitor", daemon=True)
                self._monitor.start()

    def _watch(self) -> None:
        while not self._closed:
            time.sleep(0.5)
            try:
                self._pool.check()
                with self._pool.connection(timeout=2.0) as conn:
                    conn.execute("SELECT 1")
            except _UNAVAILABLE:
                continue
            except Exception:  # a pool closed under us at shutdown
                return
            with self._state:
                self.up = True
                self._monitor = None
            log.warning("PostgreSQL at %s is available again", self.label)
            return


def _is_stale(exc: psycopg.OperationalError) -> bool:
    """A pooled connection the server closed (a restart): worth one retry on a new connection."""
    text = str(exc).lower()
    return any(s in text for s in ("terminat", "closed", "server closed", "connection is lost", "consuming input"))


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
