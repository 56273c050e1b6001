"""Admitting requests by user key: every replica's copy of the keys, and the authenticator using it.

``KeyDirectory`` holds the active keys by hash and re-reads them every ``REFRESH_S`` seconds on a
thread of its own, so a key created or revoked on any machine is accepted or refused by every replica
within ``REFRESH_S`` (plus one query), and no request waits on the database to be admitted. While the
database cannot be reached the last copy stays in force.

``KeyAuthenticator`` plugs into the proxy's front (``proxy/auth.py``): a user key is accepted where the
serve token is (the ``/s/<key>/`` path prefix, ``X-Lynkr-Token``, or as the client's API key). A
request carrying anything shaped like a lynkr key is decided here alone: an unknown or revoked one is
refused, never handed to the next authenticator (which, under ``serve --no-token``, would forward it
upstream as the client's own key).
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from lynkr_cli.callers import Caller
from lynkr_cli.keys.store import PREFIX, KeyInfo, KeyStore, key_hash
from lynkr_cli.proxy.auth import PREFIX as PATH_PREFIX
from lynkr_cli.proxy.auth import TOKEN_HEADER, Admission, Authenticator
from lynkr_cli.storage.db import DatabaseUnavailable

if TYPE_CHECKING:
    from starlette.types import Scope

log = logging.getLogger("lynkr.keys")
REFRESH_S = 2.0
_KEY = PREFIX.encode()
_BEARER = b"bearer "


class KeyDirectory:
    """The active keys, by hash and by name, refreshed in the background."""

    def __init__(self, store: KeyStore, refresh_s: float = REFRESH_S) -> None:
        self.store = store
        self.refresh_s = refresh_s
        self._by_hash: dict[str, KeyInfo] = {}
        self._by_name: dict[str, KeyInfo] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.refresh()

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="lynkr-keys", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def refresh(self) -> bool:
        """Read the active keys again; False (keeping the last copy) when the database is unavailable."""
        try:
            active = [k for k in self.store.list() if k.active]
        except DatabaseUnavailable:
            return False
        self._by_hash = {k.hash: k for k in active}  # swapped whole: readers never see a half-built map
        self._by_name = {k.name: k for k in active}
        return True

    def lookup(self, token: bytes) -> KeyInfo | None:
        return self._by_hash.get(key_hash(token))

    def by_name(self, name: str) -> KeyInfo | None:
        return self._by_name.get(name)

    def __len__(self) -> int:
        return len(self._by_hash)

    def _run(self) -> None:
        while not self._stop.wait(self.refresh_s):
            try:
                self.refresh()
            except Exception as exc:  # keep the last copy; the next round tries again
                log.warning("reading user keys failed: %s", exc)


class KeyAuthenticator:
    """User keys first; requests without one go to ``fallback`` (the serve token, or client keys)."""

    def __init__(self, directory: KeyDirectory, fallback: Authenticator) -> None:
        self.directory = directory
        self.fallback = fallback

    def authenticate(self, scope: Scope) -> Admission | None:
        path: str = scope["path"]
        offered: list[bytes] = []
        in_path = None
        if path.startswith(PATH_PREFIX + PREFIX):
            segment, _, rest = path[len(PATH_PREFIX):].partition("/")
            offered.append(segment.encode())
            in_path = "/" + rest
        drop: set[bytes] = set()
        for name, value in scope["headers"]:
            candidate = value
            if name == b"authorization" and value[:7].lower() == _BEARER:
                candidate = value[7:].strip()
            elif name not in (TOKEN_HEADER, b"x-api-key"):
                continue
            if candidate.startswith(_KEY):
                offered.append(candidate)
                drop.add(name)
        if not offered:
            return self.fallback.authenticate(scope)
        infos = {self.directory.lookup(token) for token in offered}
        if len(infos) != 1 or None in infos:  # unknown, revoked, or two different keys at once
            return None
        info = infos.pop()
        assert info is not None
        caller = Caller(f"key:{info.name}", held_keys=True, key=info.name)
        return Admission(caller, in_path, frozenset(drop | {TOKEN_HEADER}))
