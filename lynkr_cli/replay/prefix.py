"""The parts of a request a transcript does not hold: the agent's system prompt and tool list.

Claude Code's transcripts keep messages only, Codex's keep its base instructions but not its tools.
Both are filled in from a request captured from the pinned agent (``bench/capture_claude_body.py``,
``bench/capture_codex.py``) and shipped in ``replay/data/``. This is an approximation and is reported
as one: a session recorded with another version had a somewhat different prompt and tool list. The
effect on the figures is bounded: the system prompt and tools are the same bytes on every request of
a session, so they are cache reads after the first request on both sides of the comparison, and no
stage rewrites them unless ``prune`` is on.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

CLAUDE_NOTE = ("system prompt and tools: Claude Code {version}'s, as captured from the pinned binary "
               "(transcripts do not hold them)")
CODEX_NOTE = "tools: Codex {version}'s, as captured from the pinned binary (rollouts do not hold them)"


@lru_cache(maxsize=None)
def _load(name: str) -> dict[str, Any]:
    data = resources.files("lynkr_cli.replay") / "data" / name
    loaded: dict[str, Any] = json.loads(data.read_text(encoding="utf-8"))
    return loaded


def claude_prefix() -> dict[str, Any]:
    """``{"version", "system", "tools", "max_tokens", "thinking"}`` of a captured Claude Code request."""
    return _load("claude_code_prefix.json")


def codex_prefix() -> dict[str, Any]:
    """``{"version", "instructions", "tools", "include", "reasoning"}`` of a captured Codex request."""
    return _load("codex_prefix.json")
