"""Where lynkr keeps its files: one place, so tests and users can move all of it with LYNKR_HOME."""

from __future__ import annotations

import os
from pathlib import Path


def data_home(env: os._Environ[str] | dict[str, str] | None = None) -> Path:
    """The directory holding the ledger, caches and logs.

    ``LYNKR_HOME`` wins; otherwise ``$XDG_DATA_HOME/lynkr`` (default ``~/.local/share/lynkr``).
    """
    env = os.environ if env is None else env
    if env.get("LYNKR_HOME"):
        return Path(env["LYNKR_HOME"]).expanduser()
    xdg = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(xdg) / "lynkr"


def config_home(env: os._Environ[str] | dict[str, str] | None = None) -> Path:
    """The directory holding the user config (``config.toml``)."""
    env = os.environ if env is None else env
    if env.get("LYNKR_CONFIG_HOME"):
        return Path(env["LYNKR_CONFIG_HOME"]).expanduser()
    xdg = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(xdg) / "lynkr"


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` readable by the user only (it will hold request metadata)."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path
