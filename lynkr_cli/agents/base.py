"""The small interface every agent adapter implements."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Protocol

LOOPBACK_HOSTS = ("127.0.0.1", "localhost")


@dataclass(frozen=True)
class Launch:
    """What to execute: the full argv (binary first) and the complete environment."""

    argv: list[str]
    env: dict[str, str]


@dataclass(frozen=True)
class ProxyEndpoint:
    """Where the agent should send its API calls: ``base_url`` already includes the session token."""

    base_url: str  # e.g. http://127.0.0.1:PORT/s/TOKEN (the token travels in the path)
    # ``lynkr run --model provider:model``: where every request goes (None: the agent's own upstream).
    provider: str | None = None
    model: str | None = None
    token: str = ""  # the session token (also in ``base_url``'s path)
    # True when lynkr holds the credentials of every route of the run: the agent is then given the
    # session token as its own API key, so it needs no login (``agents/logins.py``).
    token_as_key: bool = False
    session_id: str = ""  # lynkr's session id (Claude Code's status line command names it)

    @property
    def origin(self) -> str:
        """``http://127.0.0.1:PORT``: the base URL without the token, for agents that send the token
        in a header (their base URL would otherwise put it on their command line)."""
        scheme, _, rest = self.base_url.partition("://")
        return f"{scheme}://{rest.split('/', 1)[0]}"


class PrivateFileWriter(Protocol):
    """Where an agent adapter puts what must not appear in argv (``agents/private.py``)."""

    def write(self, name: str, text: str) -> Path:
        """A new file only this user can read, holding ``text``; removed when the run ends."""
        ...


class Agent(Protocol):
    name: str
    binary: str
    install_hint: str
    # Read-only (properties), so a class attribute or a property of a narrower type implements them.
    @property
    def inbound(self) -> str | None:
        """The API the agent speaks (None: unknown, a generic command)."""
        ...

    @property
    def home_provider(self) -> str | None:
        """The provider the agent uses by default."""
        ...

    @property
    def label(self) -> str:
        """How messages name it ("Claude Code")."""
        ...

    login_hint: str  # what a user without a login or key should do, in a message

    def has_own_login(self, args: list[str], env: Mapping[str, str]) -> bool:
        """Whether the agent would authenticate by itself: a key in its environment or settings, or a
        login stored in its config directory. Read only; False for a machine where it never logged in."""
        ...

    def launch(self, binary: str, args: list[str], endpoint: ProxyEndpoint, env: Mapping[str, str],
               files: PrivateFileWriter) -> Launch:
        """The command and environment that make the agent talk to ``endpoint``; ``args`` unchanged
        (but for options lynkr must merge, such as Claude Code's ``--settings``). No secret goes in
        the argv: anything secret is passed through ``env`` or a file from ``files``."""
        ...


def with_no_proxy(value: str | None) -> str:
    """``value`` (a NO_PROXY list) with the loopback hosts added, so an HTTP(S)_PROXY never sees us."""
    entries: list[str] = []
    for entry in [*(value or "").split(","), *LOOPBACK_HOSTS]:
        entry = entry.strip()
        if entry and entry not in entries:
            entries.append(entry)
    return ",".join(entries)


def loopback_env(env: Mapping[str, str]) -> dict[str, str]:
    """The NO_PROXY/no_proxy pair, both spellings, since tools disagree on which one they read."""
    merged = with_no_proxy(",".join(filter(None, [env.get("NO_PROXY"), env.get("no_proxy")])))
    return {"NO_PROXY": merged, "no_proxy": merged}
