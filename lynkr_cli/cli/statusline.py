"""``lynkr statusline`` in the command table, for ``--help`` and the shell completions.

Invocations never get here: ``cli.main`` hands ``lynkr statusline …`` to ``statusline/command.py``
before Typer is imported (Claude Code runs it after every message). The options below mirror its own.
"""

from __future__ import annotations

from typing import Optional

import typer


def statusline(
    session: Optional[str] = typer.Option(None, "--session", metavar="ID", help="lynkr session id (default: the "
                                          "lynkr serve session of the Claude Code session named on stdin)."),
    then: Optional[str] = typer.Option(None, "--then", metavar="COMMAND",
                                       help="Your own status line command; lynkr's segment is appended."),
    color: bool = typer.Option(False, "--color", help="ANSI colour even without Claude Code's JSON on stdin."),
    plain: bool = typer.Option(False, "--plain", help="No colour (also: NO_COLOR set)."),
) -> None:
    """Print this session's live figures as one line, for Claude Code's statusLine (JSON on stdin)."""
    import sys

    from lynkr_cli.statusline.command import main

    argv = [*(["--session", session] if session else []), *(["--then", then] if then else []),
            *(["--color"] if color else []), *(["--plain"] if plain else [])]
    raise typer.Exit(main(argv) if sys.stdin is not None else 0)
