"""``lynkr run AGENT [ARGS...]`` and ``lynkr run -- COMMAND [ARGS...]``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer


def run(
    ctx: typer.Context,
    agent_bin: Optional[str] = typer.Option(
        None, "--agent-bin", metavar="PATH", help="The agent executable to run instead of the one on PATH."
    ),
    report: str = typer.Option(
        "short", "--report", metavar="none|short|full", help="Session report printed on stderr at exit."
    ),
    report_json: Optional[Path] = typer.Option(
        None, "--report-json", metavar="FILE", help="Also write the session report as JSON to FILE."
    ),
) -> None:
    """Run an agent (claude, codex) or, after --, any command, through the lynkr proxy.

    Every argument after the agent name reaches the agent unchanged. lynkr's own report goes to
    stderr, so the agent's stdout stays clean for pipes.
    """
    from lynkr_cli.session import RunOptions, run as run_session

    command = list(ctx.args)
    options = RunOptions(
        command=command,
        generic=_dash_dash_before_command(ctx, sys.argv),
        agent_bin=agent_bin,
        report=report,
        report_json=report_json,
    )
    raise typer.Exit(run_session(options))


def _dash_dash_before_command(ctx: typer.Context, argv: list[str]) -> bool:
    """True for ``lynkr run [OPTIONS] -- CMD``: the command is then wrapped generically even if it
    is named like a known agent. Click drops the ``--``, so the raw argv is walked with the command's
    own option table."""
    takes_value = {
        name for param in ctx.command.params if getattr(param, "opts", None) and not getattr(param, "is_flag", False)
        for name in param.opts
    }
    try:
        i = argv.index("run") + 1
    except ValueError:
        return False
    while i < len(argv):
        token = argv[i]
        if token == "--":
            return True
        if not token.startswith("-"):
            return False
        if token in takes_value:
            i += 1
        i += 1
    return False
