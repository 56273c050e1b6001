"""``lynkr doctor``: check the installation, config, providers, ledger, ports and environment."""

from __future__ import annotations

import json
from typing import Optional

import typer

MARKS = {"ok": ("✓", "green"), "warn": ("!", "yellow"), "fail": ("✗", "red"), "info": ("·", "dim")}


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
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from lynkr_cli.printable import printable

    # No markup: details and fixes name config sections such as ``[providers.openrouter]``, which
    # rich would otherwise take for style tags and silently drop.
    console = Console(highlight=False, markup=False)
    table = Table(box=None, show_edge=False, pad_edge=False, show_header=False)
    table.add_column("", no_wrap=True)
    table.add_column("check", no_wrap=True)
    table.add_column("detail", overflow="fold")
    for check in checks:
        mark, style = MARKS[check.status]
        # Details quote config values, upstream answers and error text: escaped before the terminal.
        table.add_row(Text(mark, style=style), printable(f"{check.group}: {check.name}"), printable(check.detail))
    console.print(table)
    fixes = [c for c in checks if c.fix and c.status in ("fail", "warn")]
    if fixes:
        console.print()
        console.print("fixes:", style="bold")
        for check in fixes:
            console.print(printable(f"  {check.group} {check.name}: {check.fix}"))
    failed = sum(c.status == "fail" for c in checks)
    warned = sum(c.status == "warn" for c in checks)
    console.print(f"\n{failed} problem(s), {warned} warning(s)" if failed or warned else "\nall good",
                  style="bold red" if failed else "bold")
    raise typer.Exit(exit_code(checks))
