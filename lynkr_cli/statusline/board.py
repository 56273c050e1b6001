"""The proxy's side of the status line: live figures per session, kept in a small state file.

A ``ProxyContext`` listener: each finished request updates its session's figures in memory (a few
additions, on the event loop) and wakes one writer thread, which replaces the session's state file
(``state.py``) at most every ``interval`` seconds. So the request path never waits on the disk, and
``lynkr statusline`` never reads the ledger.

The figures are the reports' own: dollars as priced into the ledger rows, savings from the same
``SavingsTally`` as the exit report, cache hits as ``lynkr report`` counts them.
"""

from __future__ import annotations

import os
import threading
import time
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lynkr_cli.ledger.savings import SavingsTally
from lynkr_cli.statusline.state import STATE_VERSION, state_path, status_dir, write_state

if TYPE_CHECKING:
    from lynkr_cli.ledger import RequestRecord

MODEL_ROUTES = frozenset({"/v1/messages", "/v1/chat/completions", "/v1/responses", "/responses", "/chat/completions"})
STALE_SECONDS = 24 * 3600  # state files of sessions that ended long ago are swept when a board starts


@dataclass
class LiveSession:
    """One session's figures so far."""

    session_id: str
    requests: int = 0
    errors: int = 0
    cost_usd: float = 0.0
    unpriced: int = 0
    cache_hits: int = 0
    loops: int = 0
    last: dict[str, Any] = field(default_factory=dict)  # the latest request: route, failover, budget, loop
    tally: SavingsTally = field(default_factory=SavingsTally)

    def add(self, record: RequestRecord) -> None:
        row = record.as_row()
        details = record.details
        failed = bool(record.error) or (record.status or 0) >= 400
        self.requests += 1
        self.errors += failed
        if record.cost_usd is not None:
            self.cost_usd += record.cost_usd
        elif not failed:
            self.unpriced += 1
        cache = details.get("cache")
        self.cache_hits += isinstance(cache, dict) and bool(cache.get("hit"))
        self.tally.add(row)
        route = details.get("route") or {}
        loop = details.get("loop_guard")
        self.loops += loop is not None
        self.last = {
            "model": record.model_used or record.model_requested or "",
            "requested": record.model_requested or "",
            "provider": record.provider,
            "tier": route.get("tier") if route.get("routed") else None,
            "failover": (route.get("failover") or {}).get("from"),
            "budget": route.get("reason") if route.get("rule") == "budget" else None,
            "loop": loop,
            "error": f"{record.status or '-'} {record.provider}" if failed else None,
        }

    def state(self, mode: str) -> dict[str, Any]:
        savings = self.tally.result() if self.tally.rows else None
        return {
            "v": STATE_VERSION, "session": self.session_id, "mode": mode, "updated": time.time(),
            "requests": self.requests, "errors": self.errors, "cost_usd": self.cost_usd, "unpriced": self.unpriced,
            "tokens_saved": round(sum(s.tokens_saved_calibrated for s in savings.stages)) if savings else 0,
            "usd_saved": savings.usd_saved if savings else 0.0, "cache_hits": self.cache_hits,
            "loops": self.loops, "last": self.last,
        }


_BOARDS: weakref.WeakSet[StatusBoard] = weakref.WeakSet()


def flush_all() -> None:
    """Write what every board of this process still holds (``lynkr run``, once its proxy stopped: the
    last answer's figures must not be lost with the writer thread)."""
    for board in list(_BOARDS):
        board.flush()


class StatusBoard:
    """Keeps ``$LYNKR_HOME/status/<session>.json`` current for every session of one proxy."""

    def __init__(self, home: str, mode: str = "append", interval: float = 0.05) -> None:
        _BOARDS.add(self)
        self.home = home
        self.mode = mode
        self.interval = interval
        self._sessions: dict[str, LiveSession] = {}
        self._dirty: set[str] = set()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def begin(self, session_id: str) -> None:
        """Write the session's first state now, so the status line has the mode before any request."""
        _sweep(status_dir(self.home))
        with self._lock:
            live = self._sessions.setdefault(session_id, LiveSession(session_id))
            state = live.state(self.mode)
        try:
            write_state(state_path(self.home, session_id), state)
        except OSError:  # an unusable LYNKR_HOME costs the status line, never the session
            pass

    def observe(self, record: RequestRecord) -> None:
        """A finished request (a ``ProxyContext`` listener): cheap, never touches the disk."""
        if record.route not in MODEL_ROUTES:
            return
        with self._lock:
            live = self._sessions.get(record.session_id)
            if live is None:
                live = self._sessions[record.session_id] = LiveSession(record.session_id)
            live.add(record)
            self._dirty.add(record.session_id)
        if self._thread is None:
            self._thread = threading.Thread(target=self._write_loop, name="lynkr-statusline", daemon=True)
            self._thread.start()
        self._wake.set()

    def flush(self) -> None:
        """Write every changed session now (tests, shutdown)."""
        with self._lock:
            dirty, self._dirty = self._dirty, set()
            states = [(s, self._sessions[s].state(self.mode)) for s in dirty]
        for session_id, state in states:
            try:
                write_state(state_path(self.home, session_id), state)
            except OSError:  # a full or read-only disk costs the status line, never the request
                pass

    def _write_loop(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            time.sleep(self.interval)  # requests finishing together: one write
            self.flush()


def _sweep(directory: str) -> None:
    """Remove state files of sessions that ended a day ago or more."""
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return
    cutoff = time.time() - STALE_SECONDS
    for entry in entries:
        try:
            if entry.stat().st_mtime < cutoff:
                os.unlink(entry.path)
        except OSError:
            pass
