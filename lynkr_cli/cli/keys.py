"""``lynkr keys``: the user keys a team's ``lynkr serve`` accepts (``lynkr_cli/keys``).

A key is printed once, by ``create`` and ``rotate``; lynkr keeps only its hash. Clients use it like
the serve token: in the base URL path (``http://host:8081/s/<key>``), as ``X-Lynkr-Token``, or as
their API key. Every replica sharing the storage accepts a new key, and refuses a revoked one,
within a few seconds.
"""

from __future__ import annotations

import json
import sys
import time
from typing import TYPE_CHECKING, Any, Optional

import typer

from lynkr_cli.cli.storage_option import STORAGE_OPTION, open_storage

if TYPE_CHECKING:
    from lynkr_cli.keys.store import KeyInfo, KeyStore
    from lynkr_cli.storage import Storage

keys_app = typer.Typer(help="User keys for lynkr serve: budgets, request rates, models.", no_args_is_help=True)


def _store(storage: str | None) -> tuple[Storage, KeyStore]:
    from lynkr_cli.keys.store import KeyStore
    from lynkr_cli.storage import LEDGER

    opened = open_storage(storage)
    return opened, KeyStore(opened.database(LEDGER))


@keys_app.command("create", short_help="Issue a key (printed once).")
def create(
    name: str = typer.Argument(..., metavar="NAME", help="Who or what the key is for (shown in reports)."),
    budget_daily: Optional[float] = typer.Option(None, "--budget-daily", metavar="USD", help="Dollars per UTC day."),
    budget_monthly: Optional[float] = typer.Option(None, "--budget-monthly", metavar="USD",
                                                   help="Dollars per UTC month."),
    rpm: Optional[int] = typer.Option(None, "--rpm", metavar="N", help="Requests per minute, across replicas."),
    models: Optional[list[str]] = typer.Option(
        None, "--models", metavar="GLOB", help="Models the key may use (repeat, or comma-separate): claude-*, ollama:*."
    ),
    as_json: bool = typer.Option(False, "--json", help='Print {"name": …, "token": …}.'),
    storage: Optional[str] = STORAGE_OPTION,
) -> None:
    """Issue a key for NAME; the key is printed once (lynkr keeps only its hash)."""
    globs = [g.strip() for item in (models or []) for g in item.split(",") if g.strip()]
    opened, store = _store(storage)
    try:
        info, token = store.create(name, budget_daily, budget_monthly, rpm, globs)
    finally:
        opened.close()
    _print_new_key(info, token, as_json,
                   f"created {info.name!r} ({_limits(info)}); the key above is shown only now")


@keys_app.command("list", short_help="The keys, their limits and spend.")
def list_keys(
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
    storage: Optional[str] = STORAGE_OPTION,
) -> None:
    """Every key with its limits and what it spent today and this month (UTC)."""
    from lynkr_cli.ledger.spend import periods
    from lynkr_cli.printable import printable

    day, month = periods()
    opened, store = _store(storage)
    try:
        rows = []
        for info in store.list():
            spent = store.spent(info.name, (day, month))
            rows.append(dict(info.as_dict(), spent_today_usd=spent.get(day, 0.0), spent_month_usd=spent.get(month, 0.0)))
    finally:
        opened.close()
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        typer.echo("no keys yet (lynkr keys create NAME)")
        return
    from lynkr_cli.cli.layout import join, width_of

    width = width_of(sys.stdout)
    for row in rows:
        status = "active" if row["status"] == "active" else "REVOKED"
        created = time.strftime("%Y-%m-%d", time.localtime(row["created_at"]))
        typer.echo(f"{printable(row['name'])}  {status}  {row['hint']}  created {created}")
        parts = [f"today ${row['spent_today_usd']:.4f}", f"month ${row['spent_month_usd']:.4f}",
                 *_limits_of(row).split(" · ")]
        for line in join([printable(p) for p in parts], width, first="    ", indent="    "):
            typer.echo(line)


@keys_app.command("revoke", short_help="Refuse a key from now on.")
def revoke(name: str = typer.Argument(..., metavar="NAME"), storage: Optional[str] = STORAGE_OPTION) -> None:
    """Refuse the key NAME on every replica (within seconds); its ledger rows stay."""
    opened, store = _store(storage)
    try:
        store.revoke(name)
    finally:
        opened.close()
    typer.echo(f"lynkr keys: revoked {name!r}")


@keys_app.command("rotate", short_help="Replace a key (same name, limits, spend).")
def rotate(
    name: str = typer.Argument(..., metavar="NAME"),
    as_json: bool = typer.Option(False, "--json", help='Print {"name": …, "token": …}.'),
    storage: Optional[str] = STORAGE_OPTION,
) -> None:
    """A new key for NAME, printed once; the old key stops working on every replica within seconds."""
    opened, store = _store(storage)
    try:
        info, token = store.rotate(name)
    finally:
        opened.close()
    _print_new_key(info, token, as_json, f"rotated {info.name!r}; the old key is refused from now on")


def _print_new_key(info: KeyInfo, token: str, as_json: bool, note: str) -> None:
    """A key just issued: alone on stdout (for a pipe or ``$(…)``), or as JSON; ``note`` on stderr."""
    if as_json:
        typer.echo(json.dumps({"name": info.name, "token": token}))
        return
    typer.echo(token)
    typer.echo(f"lynkr keys: {note}", err=True)


def _limits(info: KeyInfo) -> str:
    return _limits_of(info.as_dict())


def _limits_of(row: dict[str, Any]) -> str:
    parts = []
    if row["budget_daily_usd"] is not None:
        parts.append(f"${row['budget_daily_usd']:.2f}/day")
    if row["budget_monthly_usd"] is not None:
        parts.append(f"${row['budget_monthly_usd']:.2f}/month")
    if row["rpm"] is not None:
        parts.append(f"{row['rpm']} rpm")
    if row["models"]:
        parts.append("models " + ", ".join(row["models"]))
    return " · ".join(parts) or "no limits"
