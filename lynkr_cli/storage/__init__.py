"""Where lynkr keeps its state: SQLite files for one person, or one PostgreSQL database for a team.

``Storage`` opens the databases the stores need (``storage/schema.py`` names the components): with
no URL, ``ledger.sqlite3`` and ``cache.sqlite3`` under ``LYNKR_HOME`` as always; with a
``postgresql://`` URL, one pooled database for everything, migrated on first use under a lock so
replicas starting together do not race. The PostgreSQL driver is imported only in that case.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lynkr_cli.storage.db import Database, DatabaseUnavailable
from lynkr_cli.storage.schema import CACHE, COMPONENTS, LEDGER, Component

if TYPE_CHECKING:
    from lynkr_cli.storage.postgres import PostgresDatabase

__all__ = ["Database", "DatabaseUnavailable", "Storage", "CACHE", "LEDGER"]

_FILES = {"ledger": "ledger.sqlite3", "cache": "cache.sqlite3"}


class Storage:
    """The databases of one process. ``shared`` is True on PostgreSQL (state other replicas see)."""

    def __init__(self, url: str | None = None, home: Path | None = None, pool_size: int = 10,
                 spool_max_rows: int = 100_000, budgets_when_down: str = "open") -> None:
        from lynkr_cli.paths import data_home

        self.url = url or None
        self.home = home or data_home()
        self.pool_size = pool_size
        self.spool_max_rows = spool_max_rows
        self.budgets_when_down = budgets_when_down
        self._lock = threading.Lock()
        self._postgres: PostgresDatabase | None = None
        self._sqlite: dict[str, Database] = {}

    @classmethod
    def from_settings(cls, settings: Any, url: str | None = None) -> "Storage":
        """From ``Settings.storage``; ``url`` is the ``--storage`` flag, which wins."""
        config = settings.storage
        configured = config.url.get_secret_value() if config.url is not None else None
        return cls(url or configured, pool_size=config.pool_size, spool_max_rows=config.spool_max_rows,
                   budgets_when_down=config.budgets_when_down)

    @property
    def shared(self) -> bool:
        return self.url is not None

    @property
    def label(self) -> str:
        if self.url is None:
            return str(self.home)
        from lynkr_cli.storage.postgres import redact_url

        return redact_url(self.url)

    def path_of(self, component: Component) -> Path:
        """The SQLite file of ``component`` (only meaningful without a URL)."""
        return self.home / _FILES[component.name]

    def database(self, component: Component) -> Database:
        """The database holding ``component``'s tables, opened (and migrated) on first use."""
        with self._lock:
            if self.url is not None:
                return self._open_postgres()
            found = self._sqlite.get(component.name)
            if found is None:
                from lynkr_cli.storage.sqlite import SQLiteDatabase

                found = SQLiteDatabase(self.path_of(component), component)
                self._sqlite[component.name] = found
            return found

    def postgres(self) -> "PostgresDatabase | None":
        """The shared database when there is one (its up/down state, for readiness and fallbacks)."""
        if self.url is None:
            return None
        with self._lock:
            return self._open_postgres()

    def migrate(self) -> list[tuple[str, int, int]]:
        """Every component brought to this lynkr's schema: ``(component, before, after)``."""
        if self.url is not None:
            with self._lock:
                return self._open_postgres(migrate=False).migrate(COMPONENTS)
        from lynkr_cli.storage.sqlite import connect, migrate

        changes = []
        for component in (LEDGER, CACHE):
            conn = connect(self.path_of(component), _NO_MIGRATIONS[component.name])
            try:
                changes.append((component.name, *migrate(conn, component)))
            finally:
                conn.close()
        return changes

    def schema(self) -> dict[str, int]:
        """Each component's schema version in the database, without migrating it (0: not created)."""
        if self.url is None:
            from lynkr_cli.storage.sqlite import connect, schema_version

            versions = {}
            for component in COMPONENTS:
                path = self.path_of(component)
                if not path.exists():
                    versions[component.name] = 0
                    continue
                conn = connect(path, _NO_MIGRATIONS[component.name])
                try:
                    versions[component.name] = schema_version(conn)
                finally:
                    conn.close()
            return versions
        with self._lock:
            database = self._open_postgres(migrate=False)
        found: dict[str, int] = {c.name: 0 for c in COMPONENTS}
        if database.query("SELECT to_regclass('lynkr_schema') IS NOT NULL")[0][0]:
            found.update({name: int(version) for name, version in database.query(
                "SELECT component, version FROM lynkr_schema")})
        return found

    def _open_postgres(self, migrate: bool = True) -> "PostgresDatabase":
        if self._postgres is None:
            from lynkr_cli.storage.postgres import PostgresDatabase

            assert self.url is not None
            database = PostgresDatabase(self.url, self.pool_size)
            if migrate:
                database.migrate(COMPONENTS)
            self._postgres = database
        return self._postgres

    def close(self) -> None:
        with self._lock:
            if self._postgres is not None:
                self._postgres.close()
                self._postgres = None
            for database in self._sqlite.values():
                database.close()
            self._sqlite.clear()


# ``lynkr db migrate`` reports the versions before and after, so it opens files without migrating.
_NO_MIGRATIONS = {c.name: Component(c.name, ()) for c in COMPONENTS}
