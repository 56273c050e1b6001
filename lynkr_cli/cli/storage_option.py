"""``--storage URL`` for the commands that read or change lynkr's state (``serve``, ``report``,
``keys``, ``db``): the flag wins over ``[storage] url`` and ``LYNKR_STORAGE__URL``."""

from __future__ import annotations

from typing import Optional

import typer

from lynkr_cli.storage import Storage

STORAGE_OPTION: Optional[str] = typer.Option(
    None, "--storage", metavar="URL",
    help="postgresql:// URL of the team database [default: [storage] url, LYNKR_STORAGE__URL, else SQLite].",
)


def open_storage(url: str | None) -> Storage:
    """The storage the flag or the config names (the URL is checked like the config's)."""
    from lynkr_cli.config import load_settings

    warn_password_in_argv(url)
    return Storage.from_settings(load_settings(flags={"storage.url": url}))


def warn_password_in_argv(url: str | None) -> None:
    """Every user of the machine can read a process's arguments (``ps``): say so when a password is in one."""
    if url is None:
        return
    from urllib.parse import urlsplit

    try:
        password = urlsplit(url).password
    except ValueError:
        return
    if password:
        import sys

        print("lynkr: warning: the --storage URL holds a password, which other users can read with ps; "
              "use PGPASSWORD or ~/.pgpass, or LYNKR_STORAGE__URL / [storage] url instead", file=sys.stderr)
