"""The state file the proxy keeps for each session and ``lynkr statusline`` reads.

One small JSON file per session in ``$LYNKR_HOME/status`` (0700; files 0600), replaced atomically
(write then rename) so a reader never sees half a file. Reading it is one ``open``: the status line
answers in milliseconds however long the session, with no SQLite and no heavy import.

Imports only the standard library's ``json`` and ``os``: it is on the status line's path.
"""

from __future__ import annotations

import json
import os
TYPE_CHECKING = False  # as typing.TYPE_CHECKING (mypy reads it so) without importing typing

if TYPE_CHECKING:  # typing costs ~2 ms to import: not on the status line's path
    from typing import Any

STATE_VERSION = 1


def status_dir(home: str) -> str:
    return os.path.join(home, "status")


def state_path(home: str, session_id: str) -> str:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in session_id)
    return os.path.join(status_dir(home), f"{safe}.json")


def write_state(path: str, state: dict[str, Any]) -> None:
    """Replace ``path`` with ``state`` in one step (readers see the old file or the new one)."""
    directory = os.path.dirname(path)
    os.makedirs(directory, mode=0o700, exist_ok=True)
    tmp = f"{path}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(state, out, separators=(",", ":"))
    os.replace(tmp, path)


def read_state(path: str) -> dict[str, Any] | None:
    """The state, or None when there is none (yet) or it cannot be read."""
    try:
        with open(path, encoding="utf-8") as handle:
            state = json.load(handle)
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) and state.get("v") == STATE_VERSION else None


def data_home_from_env(env: os._Environ[str] | dict[str, str]) -> str:
    """``paths.data_home`` without ``pathlib`` (the same rules: LYNKR_HOME, XDG_DATA_HOME, ~/.local/share)."""
    if env.get("LYNKR_HOME"):
        return os.path.expanduser(env["LYNKR_HOME"])
    xdg = env.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return os.path.join(xdg, "lynkr")
