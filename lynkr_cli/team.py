"""What one ``lynkr serve`` process shares with the other replicas of a team's gateway.

Built once per process from its ``Storage`` and kept across config reloads: the user keys every
replica accepts, their limits, where the response cache and conversations' turn choices live. With
SQLite (no ``[storage] url``) the same pieces work for one process: keys and counters in the ledger
file, the cache in its file, turns in memory.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from lynkr_cli.keys.auth import KeyAuthenticator, KeyDirectory
from lynkr_cli.keys.limits import KeyLimits
from lynkr_cli.keys.store import KeyStore
from lynkr_cli.storage import CACHE, LEDGER, Database, Storage

if TYPE_CHECKING:
    from lynkr_cli.ledger import RequestRecord
    from lynkr_cli.proxy.context import ProxyContext
    from lynkr_cli.routing.turns import SharedTurns


class Team:
    """The shared parts of a serve process (``equip`` puts them on each new proxy context)."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        ledger_db = storage.database(LEDGER)
        self.keys = KeyDirectory(KeyStore(ledger_db))
        self.keys.start()
        self.limits = KeyLimits(self.keys, ledger_db, storage.budgets_when_down, shared=storage.shared)
        self.listeners: list[Callable[[RequestRecord], None]] = [self.limits.observe]  # e.g. metrics
        self.built = 0  # proxies equipped so far (1 + config reloads)
        self._turns: SharedTurns | None = None

    def cache_database(self) -> Database | None:
        """The shared cache's database; None keeps the SQLite cache file."""
        return self.storage.database(CACHE) if self.storage.shared else None

    def turns(self) -> SharedTurns | None:
        """Conversations' turn choices shared by replicas (None: this process's memory)."""
        if not self.storage.shared:
            return None
        if self._turns is None:
            from lynkr_cli.routing.turns import SharedTurns

            self._turns = SharedTurns(self.storage.database(LEDGER))
        return self._turns

    def equip(self, ctx: ProxyContext) -> None:
        """User keys before the token, and their limits, on a proxy about to serve."""
        from lynkr_cli.proxy.auth import authenticator_for

        ctx.auth = KeyAuthenticator(self.keys, authenticator_for(ctx.token))
        ctx.limits = self.limits
        ctx.listeners.extend(self.listeners)
        self.built += 1

    @property
    def ready(self) -> bool:
        """False while the shared database cannot be reached (``/readyz``)."""
        database = self.storage.postgres()
        return database is None or database.up

    def close(self) -> None:
        self.keys.stop()
        self.limits.close()
        if self._turns is not None:
            self._turns.close()
