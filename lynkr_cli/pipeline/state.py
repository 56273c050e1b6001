"""Per-session memory of the pipeline.

Only decisions that must be made once and kept live here (which tools a session keeps), plus a
bounded memo of per-content results that spares recomputing the same tool result on every turn. The
memo is a speed cache only: stage output never depends on whether it was hit, so a restarted proxy
produces the same bytes.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Callable, Hashable

from lynkr_cli.pipeline.calibrate import Calibration

MEMO_ENTRIES = 1024  # per session; a context window holds far fewer tool results
# Calibration samples (pipeline/calibrate.py): the first few requests of a session, then one in
# CALIBRATION_EVERY.
CALIBRATION_FIRST = 2
CALIBRATION_EVERY = 50
MAX_SESSIONS = 256


@dataclass
class SessionState:
    """What the pipeline remembers about one agent session."""

    key: str
    decisions: dict[str, Any] = field(default_factory=dict)
    requests_seen: int = 0
    loaded: bool = False
    _unsaved: bool = False
    calibration: Calibration = field(default_factory=Calibration, repr=False)
    _memo: OrderedDict[Hashable, Any] = field(default_factory=OrderedDict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def decide_once(self, key: str, decide: Callable[[], Any]) -> tuple[Any, bool]:
        """The decision stored under ``key``, made by ``decide()`` the first time; (decision, is_new)."""
        with self._lock:
            if key in self.decisions:
                return self.decisions[key], False
            decision = decide()
            self.decisions[key] = decision
            self._unsaved = True
            return decision, True

    def restore(self, saved: dict[str, Any]) -> None:
        """Take over decisions a previous proxy made for this session (before any new one)."""
        with self._lock:
            for key, value in saved.items():
                self.decisions.setdefault(key, value)
            self.loaded = True

    def take_unsaved(self) -> bool:
        """True once after a new decision was made (so it is written once)."""
        with self._lock:
            unsaved, self._unsaved = self._unsaved, False
            return unsaved

    def calibration_due(self) -> bool:
        """Count this request for calibration? (Call once per request.)"""
        with self._lock:
            n = self.requests_seen
            self.requests_seen += 1
        return n < CALIBRATION_FIRST or n % CALIBRATION_EVERY == 0

    def memo(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """``compute()`` cached under ``key`` (LRU, bounded); ``compute`` must be a pure function of key."""
        with self._lock:
            if key in self._memo:
                self._memo.move_to_end(key)
                return self._memo[key]
        value = compute()
        with self._lock:
            self._memo[key] = value
            if len(self._memo) > MEMO_ENTRIES:
                self._memo.popitem(last=False)
        return value


class SessionStates:
    """Session states of one proxy, by session key; the least recently used are forgotten first."""

    def __init__(self) -> None:
        self._states: OrderedDict[str, SessionState] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> SessionState:
        with self._lock:
            state = self._states.get(key)
            if state is None:
                state = self._states[key] = SessionState(key)
                if len(self._states) > MAX_SESSIONS:
                    self._states.popitem(last=False)
            else:
                self._states.move_to_end(key)
            return state
