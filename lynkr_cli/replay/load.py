"""One transcript file -> a ``ReplaySession`` of the agent that wrote it."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from lynkr_cli.replay.session import ReplaySession
from lynkr_cli.replay.transcripts import detect_agent, read_lines


def load_session(path: Path, warn: Callable[[str], None] | None = None) -> ReplaySession:
    """Read and rebuild one transcript; an unknown format is a session of no requests with a warning."""
    lines = read_lines(path, warn)
    agent = detect_agent(lines.records)
    if agent == "claude":
        from lynkr_cli.replay.claude import read_claude

        return read_claude(lines)
    if agent == "codex":
        from lynkr_cli.replay.codex import read_codex

        return read_codex(lines)
    if agent == "pi":
        from lynkr_cli.replay.pi import read_pi

        return read_pi(lines)
    session = ReplaySession(path=str(path), agent="unknown", session_id=path.stem, warnings=list(lines.warnings))
    if lines.records:
        message = f"{path}: not a Claude Code, Codex or pi session file; skipped"
        session.warnings.append(message)
        if warn is not None:
            warn(message)
    return session
