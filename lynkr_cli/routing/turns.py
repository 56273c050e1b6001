"""Where a conversation's current turn choice lives: this process's memory, or the team database.

Behind a load balancer the requests of one conversation reach any replica. The router decides the
model at the start of a user turn and keeps it through the tool loop (``coherence.py``); with
``SharedTurns`` that decision is written to the ``turns`` table and read back by whichever replica
serves the next request, so the conversation keeps one model per turn (and its prompt cache) however
it is spread. The write is queued to a thread of its own (the next request of a conversation only
comes after this one's answer, long after the row is written); the read is one primary-key lookup.
While the database cannot be reached, each replica goes on with what it knows itself.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from lynkr_cli.routing.coherence import TurnChoice, Turns
from lynkr_cli.routing.score import Part
from lynkr_cli.routing.tiers import Target, Tier
from lynkr_cli.storage.db import Database, DatabaseUnavailable

log = logging.getLogger("lynkr.routing")
KEEP_S = 24 * 3600  # a conversation idle for a day starts afresh (its prompt cache is long gone)


class TurnStore(Protocol):
    def get(self, key: str) -> TurnChoice | None: ...

    def set(self, key: str, choice: TurnChoice) -> None: ...


def encode(choice: TurnChoice) -> str:
    return json.dumps({
        "tier": choice.tier.name if choice.tier is not None else None,
        "target": [choice.target.provider, choice.target.model] if choice.target is not None else None,
        "reason": choice.reason, "score": choice.score,
        "parts": [[p.dimension, p.points, p.detail] for p in choice.parts],
    }, separators=(",", ":"))


def decode(text: str) -> TurnChoice:
    data: dict[str, Any] = json.loads(text)
    target = Target(*data["target"]) if data.get("target") else None
    tier = Tier[data["tier"]] if data.get("tier") else None
    parts = tuple(Part(str(d), float(p), str(x)) for d, p, x in data.get("parts") or ())
    return TurnChoice(tier, target, str(data.get("reason", "")), float(data.get("score") or 0.0), parts)


class SharedTurns:
    """Turn choices in the ``turns`` table; this process's memory while the database is down."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.local = Turns()
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lynkr-turns")
        self._swept = 0.0
        self._lock = threading.Lock()

    def get(self, key: str) -> TurnChoice | None:
        if not self.db.up:
            return self.local.get(key)
        try:
            # On the proxy's event loop: a short wait for a connection, never the pool's default.
            found = self.db.query("SELECT choice FROM turns WHERE conversation = ?", (key,), wait_s=0.25)
        except DatabaseUnavailable:
            return self.local.get(key)
        return decode(found[0][0]) if found else None

    def set(self, key: str, choice: TurnChoice) -> None:
        self.local.set(key, choice)
        self._writer.submit(self._write, key, encode(choice), time.time())

    def flush(self) -> None:
        """Wait for the queued writes (tests, shutdown)."""
        self._writer.submit(lambda: None).result()

    def close(self) -> None:
        self._writer.shutdown(wait=True)

    def _write(self, key: str, choice: str, now: float) -> None:
        try:
            self.db.execute("INSERT INTO turns (conversation, choice, updated_at) VALUES (?, ?, ?)"
                            " ON CONFLICT (conversation) DO UPDATE SET choice = excluded.choice,"
                            " updated_at = excluded.updated_at", (key, choice, now))
            with self._lock:
                sweep, self._swept = now - self._swept > 600, self._swept if now - self._swept <= 600 else now
            if sweep:
                self.db.execute("DELETE FROM turns WHERE updated_at < ?", (now - KEEP_S,))
        except DatabaseUnavailable:
            pass  # the local copy serves this replica until the database is back
        except Exception as exc:  # a turn not shared costs a cache miss on another replica, never a request
            log.warning("routing turn not stored: %s", exc)
