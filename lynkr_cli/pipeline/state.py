"""Per-session memory of the pipeline.

Only decisions that must be made once and kept live here (which tools a session keeps), plus a
bounded memo of per-content results that spares recomputing the same tool result on every turn. The
memo is a speed cache only: stage output never depends on whether it was hit, so a restarted proxy
produces the same bytes.

Memory stays bounded however long the proxy runs (``lynkr serve`` for weeks, thousands of
sessions): at most ``MAX_SESSIONS`` session states, least recently used forgotten first, and one memo
shared by all of them with a byte budget (``MEMO_BYTES``). The memo is shared rather than per
session because its values hold tool-result texts: ``MAX_SESSIONS`` per-session memos of
``MEMO_ENTRIES`` each could hold gigabytes, while a shared one is one budget (and a file two
sessions both read is compressed once). Sharing is safe because a memo value is a pure function of
its key, which names the stage and its config (``bench/soak.py`` measures the bound).

The tool-result stages keep their own bounded speed caches the same way, shared by all sessions:
each text stage and ``compress`` a ``results.TextCache`` by tool_use id and exact text (2-6 M
characters); and each session's recent conversations with what every stage made of them so far
(``conversation.py``, ``progress.py``: one budget of 8 M characters, dedup's index included).
"""

from __future__ import annotations

import dataclasses
import sys
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Callable, Hashable

from lynkr_cli.pipeline.calibrate import Calibration
from lynkr_cli.pipeline.conversation import Conversations

MEMO_ENTRIES = 1024  # a standalone session's memo; a context window holds far fewer tool results
MEMO_BYTES = 16 << 20  # shared by a proxy's sessions (approximate size of its values): a busy day's live
# conversations resend a few MB of tool results; bench/soak.py sees ~1 MB more per 1,000 requests until full
MEMO_SHARED_ENTRIES = 65536
# Calibration samples (pipeline/calibrate.py): the first few requests of a session, then one in
# CALIBRATION_EVERY.
CALIBRATION_FIRST = 2
CALIBRATION_EVERY = 50
MAX_SESSIONS = 256


def _weight(value: Any) -> int:
    """Approximate bytes held by a memo value (strings, numbers, lists and dataclasses of them)."""
    if isinstance(value, (list, tuple)):
        return sys.getsizeof(value) + sum(_weight(v) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return sys.getsizeof(value) + sum(_weight(getattr(value, f.name)) for f in dataclasses.fields(value))
    return sys.getsizeof(value)


class Memo:
    """An LRU of pure results bounded both in entries and in (approximate) bytes."""

    def __init__(self, max_entries: int = MEMO_ENTRIES, max_bytes: int = MEMO_BYTES) -> None:
        self.max_entries, self.max_bytes = max_entries, max_bytes
        self.bytes = 0
        self._entries: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """``compute()`` cached under ``key``; ``compute`` must be a pure function of key."""
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                return found[0]
        value = compute()  # outside the lock: other sessions' lookups must not wait for it
        weight = _weight(key) + _weight(value)
        if weight > self.max_bytes:
            return value  # larger than the whole budget: not kept
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self.bytes -= old[1]
            self._entries[key] = (value, weight)
            self.bytes += weight
            while len(self._entries) > self.max_entries or self.bytes > self.max_bytes:
                _, (_, dropped) = self._entries.popitem(last=False)
                self.bytes -= dropped
        return value


@dataclass
class SessionState:
    """What the pipeline remembers about one agent session."""

    key: str
    decisions: dict[str, Any] = field(default_factory=dict)
    requests_seen: int = 0
    loaded: bool = False
    _unsaved: bool = False
    calibration: Calibration = field(default_factory=Calibration, repr=False)
    _memo: Memo = field(default_factory=Memo, repr=False)  # SessionStates gives all its states one
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
        return self._memo.get(key, compute)


class SessionStates:
    """Session states of one proxy, by session key; the least recently used are forgotten first."""

    def __init__(self, max_sessions: int = MAX_SESSIONS, memo: Memo | None = None,
                 conversations: Conversations | None = None) -> None:
        self.max_sessions = max_sessions
        self.memo = memo if memo is not None else Memo(MEMO_SHARED_ENTRIES, MEMO_BYTES)
        self.conversations = conversations if conversations is not None else Conversations()
        self._states: OrderedDict[str, SessionState] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._states)

    def get(self, key: str) -> SessionState:
        with self._lock:
            state = self._states.get(key)
            if state is None:
                state = self._states[key] = SessionState(key, _memo=self.memo)
                if len(self._states) > self.max_sessions:
                    self._states.popitem(last=False)
            else:
                self._states.move_to_end(key)
            return state
