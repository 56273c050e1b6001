"""``lynkr db migrate``: bring the ledger and cache databases to this lynkr's schema.

``lynkr serve`` and every other command migrate on their own when they open a database (replicas
take turns under a lock), so this is for doing it ahead of a rolling upgrade, or to see the versions.
"""

from __future__ import annotations

from typing import Optional

import typer

from lynkr_cli.cli.storage_option import STORAGE_OPTION, open_storage

db_app = typer.Typer(help="The databases lynkr keeps its state in.", no_args_is_help=True)


@db_app.command("migrate", short_help="Create or upgrade the ledger and cache tables.")
def migrate(storage: Optional[str] = STORAGE_OPTION) -> None:
    """Create or upgrade the tables of the ledger (sessions, requests, keys, spend, turns) and the cache."""
    store = open_storage(storage)
    try:
        changes = store.migrate()
    finally:
        store.close()
    typer.echo(f"lynkr db: {store.label}")
    for component, before, after in changes:
        state = f"schema {after} (was {before})" if after != before else f"schema {after}, up to date"
        typer.echo(f"  {component}: {state}")
