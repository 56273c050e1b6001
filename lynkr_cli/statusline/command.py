"""``lynkr statusline``: one line for Claude Code's status line, in a few milliseconds.

Claude Code runs the ``statusLine`` command after each message, with a JSON object on stdin
(``session_id``, ``model``, ``workspace``, ``cost`` …) and shows what it prints. This entry point
imports only the standard library and lynkr's small ``statusline`` modules (no Typer, rich or
pydantic): it reads the session's state file, which the proxy keeps current, and prints.

Which session: ``--session ID`` (``lynkr run claude`` puts it in the command it installs); without
it, the ``lynkr serve`` session whose client sent the same Claude Code session id, looked up in the
ledger. ``--then CMD`` runs the user's own status line command with the same stdin; the mode the
proxy wrote into the state (``[statusline] mode``) decides what is shown: ``append`` (theirs, then
lynkr's segment), ``replace`` (lynkr's only) or ``off`` (theirs only).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from lynkr_cli.statusline.render import SEPARATOR, render
from lynkr_cli.statusline.state import data_home_from_env, read_state, state_path

TYPE_CHECKING = False  # as typing.TYPE_CHECKING (mypy reads it so) without importing typing

if TYPE_CHECKING:  # typing costs ~2 ms to import: not on the status line's path
    from typing import Any

USER_COMMAND_TIMEOUT = 5.0


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        """One line and exit 2, like every other lynkr usage error."""
        sys.stderr.write(f"lynkr statusline: {message}\n")
        sys.exit(2)


def parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="lynkr statusline",
        description="Print this session's live lynkr figures as one line, for Claude Code's statusLine. "
                    "Reads Claude Code's status line JSON on stdin.")
    p.add_argument("--session", metavar="ID", help="lynkr session id (default: the lynkr serve session of "
                   "the Claude Code session named on stdin)")
    p.add_argument("--then", metavar="COMMAND", dest="then",
                   help="your own status line command: run with the same stdin, lynkr's segment appended")
    colour = p.add_mutually_exclusive_group()
    colour.add_argument("--color", action="store_true", help="ANSI colour even without Claude Code's JSON on stdin")
    colour.add_argument("--plain", action="store_true", help="no colour (also: NO_COLOR set)")
    return p


def main(argv: list[str]) -> int:
    try:
        args = parser().parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2), already printed by argparse
        return int(exc.code or 0)
    stdin = _read_stdin()
    claude = _claude_json(stdin)
    home = data_home_from_env(os.environ)
    session = args.session or (_serve_session(home, claude.get("session_id")) if claude else None)
    state = read_state(state_path(home, session)) if session else None
    mode = (state or {}).get("mode") or "append"
    theirs = _run_user_command(args.then, stdin) if args.then and mode != "replace" else ""
    if mode == "off":
        sys.stdout.write(theirs)
        return 0
    colour = not args.plain and not os.environ.get("NO_COLOR") and (args.color or bool(claude)
                                                                    or sys.stdout.isatty())
    ours = render(state, colour)
    first, _, rest = theirs.partition("\n")
    line = f"{first.rstrip()}{SEPARATOR}{ours}" if first.strip() else ours
    sys.stdout.write(line + "\n" + rest)
    return 0


def _read_stdin() -> bytes:
    if sys.stdin is None or sys.stdin.isatty():
        return b""
    try:
        return sys.stdin.buffer.read(1 << 20)
    except OSError:
        return b""


def _claude_json(stdin: bytes) -> dict[str, Any]:
    """Claude Code's status line object, or {} (no stdin, or not that)."""
    try:
        data = json.loads(stdin) if stdin.strip() else {}
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _serve_session(home: str, claude_session: Any) -> str | None:
    """The newest ``lynkr serve`` session of the client that sent this Claude Code session id."""
    if not isinstance(claude_session, str) or not claude_session:
        return None
    ledger = os.path.join(home, "ledger.sqlite3")
    if not os.path.exists(ledger):
        return None
    import sqlite3

    try:
        conn = sqlite3.connect(f"file:{ledger}?mode=ro", uri=True, timeout=1.0)
        try:
            row = conn.execute(
                "SELECT id FROM sessions WHERE argv LIKE ? ESCAPE '\\' ORDER BY started_at DESC LIMIT 1",
                ("%" + _like(json.dumps(f"client-session={claude_session}")) + "%",),
            ).fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        return None
    return row[0] if row else None


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _run_user_command(command: str, stdin: bytes) -> str:
    """The user's own status line: their command, run as Claude Code runs it (a shell, same stdin)."""
    import subprocess

    try:
        done = subprocess.run(command, shell=True, input=stdin, capture_output=True, timeout=USER_COMMAND_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout.decode("utf-8", errors="replace")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
