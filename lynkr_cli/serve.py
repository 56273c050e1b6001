"""``lynkr serve``: the same proxy as ``lynkr run``, standalone, for editors and SDK clients.

Sessions: one ledger session per *client*, not per TCP connection (SDKs pool connections and Claude
Code opens several, so a connection is not a unit anyone recognises). A client is the remote address
plus the client's own session header (``X-Claude-Code-Session-Id``) when it sends one, plus its
User-Agent product; after ``IDLE_SECONDS`` without a request the same client starts a new session.
Every session is closed in the ledger when the server stops.

Access: a token is required (``proxy/auth.py``): clients put it in the base URL path
(``http://host:port/s/<token>/v1``), send it as ``X-Lynkr-Token`` or as their API key.
"""

from __future__ import annotations

import contextvars
import ipaddress
import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from lynkr_cli import __version__
from lynkr_cli.ledger import Ledger, RequestRecord, SessionRecord

IDLE_SECONDS = 30 * 60
# Clients remembered at once; beyond it the least recently seen client's session is closed (a client
# that comes back starts a new one). Each entry is small: session ids were bounded by the front.
MAX_CLIENTS = 4096
CLIENT: contextvars.ContextVar[tuple[str, str, str] | None] = contextvars.ContextVar("lynkr_client", default=None)


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach ("" and 0.0.0.0 mean every interface)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def agent_from_user_agent(user_agent: str) -> str:
    """A short client name for the ledger: ``claude-cli/2.1 (…)`` -> ``claude``."""
    product = user_agent.split(" ", 1)[0].split("/", 1)[0].lower()[:40]
    known = {"claude-cli": "claude", "codex_cli_rs": "codex", "anthropic": "anthropic-sdk",
             "asyncanthropic": "anthropic-sdk", "openai": "openai-sdk", "asyncopenai": "openai-sdk"}
    return known.get(product, product or "client")


@dataclass
class ServeStats:
    """What the status line shows; updated from the proxy thread, read from the main thread."""

    started_at: float = field(default_factory=time.time)
    requests: int = 0
    errors: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    last: str = ""

    def add(self, record: RequestRecord) -> None:
        self.requests += 1
        if record.error or (record.status or 0) >= 400:
            self.errors += 1
        self.input_tokens += record.input_tokens or 0
        self.output_tokens += record.output_tokens or 0
        self.cost_usd += record.cost_usd or 0.0
        from lynkr_cli.printable import printable

        model = record.model_used or record.model_requested or record.route  # the client's words: escaped
        self.last = f"{printable(model)[:80]} {record.status or '-'} {record.latency_ms or 0:.0f}ms"


class ServeLedger(Ledger):
    """A ledger that files each request under its client's session, starting sessions as clients appear."""

    def __init__(self, upstream: str, on_record: Callable[[RequestRecord], None] | None = None, **kw: Any) -> None:
        super().__init__(**kw)
        self.upstream = upstream
        self.on_record = on_record
        self.stats = ServeStats()
        self._lock = threading.Lock()
        self._sessions: dict[tuple[str, str, str], tuple[str, float]] = {}
        self._open: set[str] = set()
        self._counter = 0

    def session_for(self, client: tuple[str, str, str] | None, now: float) -> str:
        from lynkr_cli.session import new_session_id

        key = client or ("unknown", "", "client")
        with self._lock:
            found = self._sessions.pop(key, None)  # re-inserted last: the dict is kept in order of use
            if found is not None and now - found[1] < IDLE_SECONDS:
                self._sessions[key] = (found[0], now)
                return found[0]
            if found is not None:
                self._finish(found[0])
            while len(self._sessions) >= MAX_CLIENTS:  # a flood of new clients: the least recent one ends
                oldest = next(iter(self._sessions))
                self._finish(self._sessions.pop(oldest)[0])
            self._counter += 1
            session_id = f"{new_session_id()}-s{self._counter}"
            self._sessions[key] = (session_id, now)
            self._open.add(session_id)
        address, client_session, agent = key
        argv = ["serve", f"client={address}"] + ([f"client-session={client_session}"] if client_session else [])
        self.start_session(SessionRecord(
            id=session_id, agent=agent, argv=argv, cwd=os.getcwd(), started_at=now, pid=os.getpid(),
            lynkr_version=__version__, upstream=self.upstream,
        ))
        return session_id

    def record_request(self, record: RequestRecord) -> None:
        record.session_id = self.session_for(CLIENT.get(), record.started_at)
        self.stats.add(record)
        super().record_request(record)
        if self.on_record is not None:
            self.on_record(record)

    @property
    def session_count(self) -> int:
        return self._counter

    def _finish(self, session_id: str) -> None:
        if session_id in self._open:
            self._open.discard(session_id)
            self.finish_session(session_id, None)

    def finish_all(self) -> None:
        with self._lock:
            for session_id in list(self._open):
                self._finish(session_id)


def name_client(scope: dict[str, Any]) -> None:
    """Remember who sent the request being handled, for its ledger session (``ServeLedger``); the
    proxy's front calls this for each admitted request (session ids already bounded there)."""
    user_agent = session = b""
    for name, value in scope["headers"]:
        if name == b"user-agent":
            user_agent = value
        elif name == b"x-claude-code-session-id":
            session = value
    client = scope.get("client") or ("unknown", 0)
    CLIENT.set((str(client[0]), session.decode("latin-1"), agent_from_user_agent(user_agent.decode("latin-1"))))
