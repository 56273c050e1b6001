"""``lynkr doctor``: check the installation, config, providers, ledger, ports and environment."""

from __future__ import annotations

import json
from typing import Optional

import typer

MARKS = {"ok": ("✓", "green"), "warn": ("!", "yellow"), "fail": ("✗", "red"), "info": ("·", "dim")}
COLOURS = {"green": "32", "yellow": "33", "red": "31", "dim": "2"}


def doctor(
    profile: Optional[str] = typer.Option(
        None, "--profile", "-p", metavar="NAME", help="Check with this profile applied."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Check agents, config, providers, keys, ledger, ports and proxy variables; print fixes. Exit 1 on failure."""
    import os
    import sys

    from lynkr_cli.doctor import exit_code, run_checks

    if as_json or not sys.stderr.isatty():
        checks = run_checks(profile, os.environ, lambda _text: None)
    else:
        from rich.console import Console

        with Console(stderr=True).status("checking…") as status:
            checks = run_checks(profile, os.environ, lambda text: status.update(text + "…"))
    if as_json:
        typer.echo(json.dumps([c.to_dict() for c in checks], indent=2))
        raise typer.Exit(exit_code(checks))
    from lynkr_cli.cli.layout import fill, width_of
    from lynkr_cli.printable import printable

    # Plain text, wrapped at spaces and path separators under a hanging indent (never mid-word); the
    # mark alone is coloured, only on a terminal. Details quote config values, upstream answers and
    # error text: escaped before the terminal.
    width = width_of(sys.stdout)
    colour = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    lines: list[str] = []
    labels = [f"{MARKS[c.status][0]} {printable(c.group)}: {printable(c.name)}" for c in checks]
    column = min(max((len(label) for label in labels), default=0), width // 3)
    for check, label in zip(checks, labels):
        mark, style = MARKS[check.status]
        shown = f"\x1b[{COLOURS[style]}m{mark}\x1b[0m" if colour else mark
        wrapped = fill(printable(check.detail), width, first=f"{label.ljust(column)}  ", indent="    ")
        wrapped[0] = shown + wrapped[0][len(mark):]
        lines += wrapped
    fixes = [c for c in checks if c.fix and c.status in ("fail", "warn")]
    if fixes:
        lines += ["", "fixes:"]
        for check in fixes:
            lines += fill(printable(check.fix), width, first=f"  {printable(check.group)} {printable(check.name)}: ",
                          indent="    ")
    failed = sum(c.status == "fail" for c in checks)
    warned = sum(c.status == "warn" for c in checks)
    lines += ["", f"{failed} problem(s), {warned} warning(s)" if failed or warned else "all good"]
    typer.echo("\n".join(lines))
    raise typer.Exit(exit_code(checks))
