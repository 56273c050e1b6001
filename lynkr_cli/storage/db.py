"""The small database interface lynkr's stores are written against, whichever engine is underneath.

Stores (the ledger, the response cache, user keys, budget counters, routing turns) write their SQL
once, with ``?`` placeholders, in the subset SQLite and PostgreSQL share (``INSERT … ON CONFLICT``,
``RETURNING``); ``storage/sqlite.py`` and ``storage/postgres.py`` run it. Rows come back as tuples.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any, Protocol, Sequence

from lynkr_cli.errors import LynkrError
from lynkr_cli.storage.schema import Dialect

Params = Sequence[Any]


class DatabaseUnavailable(LynkrError):
    """The database cannot be reached (or stopped answering): callers spool, fall back or fail closed."""

    http_status = 503
    anthropic_type = "api_error"
    openai_type = "server_error"


class Transaction(Protocol):
    """Statements run inside one transaction (committed when the ``with`` block ends without error)."""

    def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement; the number of rows it changed."""
        ...

    def query(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]:
        """Run one statement and return its rows."""
        ...


class Database(Protocol):
    """One database: a SQLite file, or a PostgreSQL database through a connection pool."""

    dialect: Dialect
    label: str  # where it is, for messages (a path, or the URL without its password)
    up: bool  # False while the database cannot be reached (a SQLite file always can)

    def execute(self, sql: str, params: Params = ()) -> int:
        """One statement in a transaction of its own; the number of rows it changed."""
        ...

    def query(self, sql: str, params: Params = (), wait_s: float | None = None) -> list[tuple[Any, ...]]:
        """Rows of one read; ``wait_s``: the longest wait for a connection (the default otherwise)."""
        ...

    def query_dicts(self, sql: str, params: Params = ()) -> list[dict[str, Any]]:
        """Rows of one read, as ``{column: value}``."""
        ...

    def transaction(self) -> AbstractContextManager[Transaction]:
        """Several statements that commit together, or not at all."""
        ...

    def close(self) -> None: ...
