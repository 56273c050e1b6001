"""``lynkr report``: past sessions from the ledger."""

from __future__ import annotations

import json
from typing import Optional

import typer


def report(
    session: Optional[str] = typer.Option(None, "--session", "-s", help="Session id (or a unique prefix)."),
    last: int = typer.Option(1, "--last", "-n", min=1, help="Show the last N sessions."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Show the report of the last session (or --session ID, or the --last N)."""
    from lynkr_cli.cli.render import print_full_report
    from lynkr_cli.errors import UsageError
    from lynkr_cli.ledger import LedgerReader
    from lynkr_cli.ledger.report import summarize

    reader = LedgerReader()
    if not reader.exists():
        raise UsageError(f"no sessions recorded yet (ledger {reader.path} does not exist)")
    try:
        if session is not None:
            found = reader.session(session)
            if found is None:
                raise UsageError(f"no session matches {session!r}")
            sessions = [found]
        else:
            sessions = reader.sessions(last=last)
        summaries = [summarize(s, reader.requests(s["id"])) for s in sessions]
    finally:
        reader.close()
    if as_json:
        data = [s.to_dict() for s in summaries]
        typer.echo(json.dumps(data[0] if session is not None else data, indent=2))
        return
    if not summaries:
        typer.echo("no sessions recorded yet")
        return
    import sys

    for summary in summaries:
        print_full_report(summary, file=sys.stdout)
