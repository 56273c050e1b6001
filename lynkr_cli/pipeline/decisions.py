"""Per-session pipeline decisions kept on disk, so a restarted proxy keeps them.

``claude --resume`` under a new ``lynkr run`` continues a conversation with a fresh proxy; the tool
list pruning chose on that session's first request must stay the same or the cached prefix (which
starts with the tools) is lost. One small JSON file per agent session id under
``<lynkr home>/pipeline/``, written atomically when a decision is made; the stages still do no I/O
(the hook loads and saves around them).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any


def _path(directory: Path, key: str) -> Path:
    return directory / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.json"


def load(directory: Path, key: str) -> dict[str, Any]:
    """The decisions saved for session ``key`` ({} when none or unreadable: decide afresh)."""
    path = _path(directory, key)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    try:
        os.utime(path)  # still in use: retention (lynkr_cli/housekeeping.py) counts from the last read
    except OSError:
        pass
    return {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()} if isinstance(data, dict) else {}


def save(directory: Path, key: str, decisions: dict[str, Any]) -> None:
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = _path(directory, key)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(decisions, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)
