"""Finding transcripts and reading their lines, with one warning per malformed line.

A transcript is append-only JSONL written by the agent while it runs; a line cut short by a crash or
a hand edit must not cost the user the rest of the session, so a line that is not a JSON object
becomes one warning naming the file and line number, and reading goes on. The warning never quotes
the line: it may hold a credential.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Literal, Mapping

Agent = Literal["claude", "codex", "pi", "unknown"]


def default_roots(env: Mapping[str, str]) -> list[Path]:
    """Where Claude Code and Codex keep their transcripts (``CLAUDE_CONFIG_DIR``/``CODEX_HOME`` honoured)."""
    home = Path(env.get("HOME") or Path.home())
    claude = Path(env["CLAUDE_CONFIG_DIR"]) if env.get("CLAUDE_CONFIG_DIR") else home / ".claude"
    codex = Path(env["CODEX_HOME"]) if env.get("CODEX_HOME") else home / ".codex"
    return [claude / "projects", codex / "sessions"]


def find_transcripts(paths: list[Path], since: float | None = None, last: int = 0) -> list[Path]:
    """The ``*.jsonl`` files under ``paths`` (files given directly are kept), oldest first.

    ``since`` keeps files modified at or after that Unix time; ``last`` keeps the newest N.
    """
    found: dict[Path, float] = {}
    for path in paths:
        if path.is_file():
            found[path] = _mtime(path)
        elif path.is_dir():
            for file in path.rglob("*.jsonl"):
                if file.is_file():
                    found[file] = _mtime(file)
    files = sorted(found, key=lambda p: (found[p], str(p)))
    if since is not None:
        files = [p for p in files if found[p] >= since]
    if last > 0:
        files = files[-last:]
    return files


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


@dataclass
class Lines:
    """The JSON objects of one transcript, and the warnings met while reading it."""

    path: Path
    records: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # (line number, object)
    warnings: list[str] = field(default_factory=list)


def read_lines(path: Path, warn: Callable[[str], None] | None = None) -> Lines:
    """Every JSON-object line of ``path``; each bad line is one warning (also passed to ``warn``)."""
    out = Lines(path)

    def bad(number: int, why: str) -> None:
        message = f"{path}:{number}: {why}; line skipped, the rest of the file is replayed"
        out.warnings.append(message)
        if warn is not None:
            warn(message)

    try:
        handle = path.open("rb")
    except OSError as exc:
        bad(0, f"cannot read ({exc.strerror or exc})")
        return out
    with handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                value = _loads(raw)
            except ValueError as exc:
                bad(number, f"not valid JSON (at column {getattr(exc, 'colno', '?')})")
                continue
            if not isinstance(value, dict):
                bad(number, "not a JSON object")
                continue
            out.records.append((number, value))
    return out


def _loads(raw: bytes) -> Any:
    """The line's JSON value: orjson (a tenth of the time on transcripts of megabytes), the standard
    library for what orjson refuses (NaN, integers beyond 64 bits, lone surrogates) and for the
    column a broken line is reported at."""
    import orjson

    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return json.loads(raw)


def detect_agent(records: list[tuple[int, dict[str, Any]]]) -> Agent:
    """Which agent wrote these lines, from fields only its transcripts have."""
    for _, record in records[:50]:
        kind = record.get("type")
        if kind in ("session_meta", "response_item", "turn_context", "event_msg"):
            return "codex"
        if kind == "session" and "version" in record and "cwd" in record:
            return "pi"
        message = record.get("message")
        if kind == "message" and "parentId" in record and isinstance(message, dict) \
                and message.get("role") in ("user", "assistant", "toolResult"):
            return "pi"
        if kind in ("user", "assistant") and isinstance(record.get("message"), dict):
            return "claude"
        if "sessionId" in record and ("parentUuid" in record or "uuid" in record):
            return "claude"
    return "unknown"


def iter_records(lines: Lines) -> Iterator[tuple[int, dict[str, Any]]]:
    yield from lines.records
