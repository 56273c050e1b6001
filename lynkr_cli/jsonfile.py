"""Reading another program's JSON settings files, which may be missing, half-written or not ours."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def read_object(path: Path) -> dict[str, Any]:
    """The JSON object in ``path``; ``{}`` when the file is missing, unreadable, not JSON or not an
    object: a broken settings file of Claude Code's must not stop lynkr from launching it (Claude
    Code reports it itself)."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
