"""``lynkr config show|path`` and ``lynkr profiles``: what lynkr will use, and where it came from."""

from __future__ import annotations

import json
import sys
from typing import Any, Optional

import typer

config_app = typer.Typer(
    help="Show the effective configuration and where each value comes from.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

SECRET_WORDS = ("api_key", "token", "secret", "password")


def mask(value: str) -> str:
    """Enough of a secret to recognise which one it is, never enough to use it."""
    return "****" + value[-4:] if len(value) >= 12 else "****"


def flatten(value: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """Dotted keys and leaf values of a ``model_dump()``; SecretStr values stay SecretStr."""
    if isinstance(value, dict):
        out: list[tuple[str, Any]] = []
        for key, child in value.items():
            out += flatten(child, f"{prefix}{key}.")
        return out
    return [(prefix.rstrip("."), value)]


def display(key: str, value: Any) -> Any:
    """A value ready for the terminal or JSON, secrets masked."""
    from pydantic import SecretStr

    if isinstance(value, SecretStr):
        return mask(value.get_secret_value())
    if isinstance(value, str) and any(word in key.split(".")[-1] for word in SECRET_WORDS) and not key.endswith("_env"):
        return mask(value)
    return value


@config_app.command("show", short_help="Print every setting, its value and the layer that set it.")
def show(
    profile: Optional[str] = typer.Option(
        None, "--profile", "-p", metavar="NAME", help="Apply this profile (see `lynkr profiles`)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON: {key: {value, source}}."),
    changed: bool = typer.Option(False, "--changed", help="Only values not at their default."),
) -> None:
    """Print every setting with its value (secrets masked) and the layer that set it."""
    from lynkr_cli.config.layers import resolve

    resolved = resolve(profile=profile)
    rows = [
        (key, display(key, value), resolved.source_of(key))
        for key, value in flatten(resolved.settings.model_dump())
    ]
    if changed:
        rows = [row for row in rows if row[2] != "default"]
    if as_json:
        typer.echo(json.dumps({key: {"value": value, "source": source} for key, value, source in rows}, indent=2))
        return
    from lynkr_cli.cli.layout import fill, join, table, width_of
    from lynkr_cli.printable import printable

    # A table when it fits the terminal; otherwise each setting on its line with its value and source
    # wrapped under it. Values may quote a config file's text: escaped before the terminal.
    width = width_of(sys.stdout)
    cells = [[key, printable(_text(value)), printable(source)] for key, value, source in rows]
    lines = table([["setting", "value", "source"], *cells], width, indent="", gap="  ")
    if lines is None:
        lines = []
        for key, value, source in cells:
            lines += join([key, f"{value}  ({source})"], width, first="", indent="    ", sep="  ")
    files = [f"user {resolved.user_file}" + ("" if resolved.user_file.is_file() else " (absent)")]
    files.append(f"project {resolved.project_file}" if resolved.project_file else "project: no lynkr.toml found")
    if resolved.profile_file:
        files.append(f"profile {resolved.profile_file}")
    for line in files:
        lines += fill(printable(line), width, indent="    ")
    typer.echo("\n".join(lines))


def _text(value: Any) -> str:
    if value is None:
        return "-"
    return value if isinstance(value, str) else json.dumps(value)


@config_app.command("path")
def path(
    project: bool = typer.Option(False, "--project", help="Print the project file (nearest lynkr.toml) instead."),
) -> None:
    """Print the user config file path (it may not exist yet)."""
    from lynkr_cli.config.layers import find_project_file, user_config_file

    if project:
        found = find_project_file()
        if found is None:
            from lynkr_cli.errors import UsageError

            raise UsageError("no lynkr.toml in this directory or its parents (create one with `lynkr init --project`)")
        typer.echo(str(found))
        return
    typer.echo(str(user_config_file()))


@config_app.command("validate")
def validate_cmd(
    profile: Optional[str] = typer.Option(None, "--profile", "-p", metavar="NAME", help="Apply this profile too."),
) -> None:
    """Check every config layer; exit 2 with the key and file at fault."""
    from lynkr_cli.config.layers import resolve

    resolved = resolve(profile=profile)
    used = [str(layer.path) for layer in resolved.layers if layer.path is not None]
    typer.echo("config ok" + (f": {', '.join(used)}" if used else " (defaults only)"))


def profiles(
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """List the profiles --profile accepts (shipped presets and your own)."""
    from lynkr_cli.config.profiles import list_profiles

    found = list_profiles()
    if as_json:
        typer.echo(json.dumps([
            {"name": p.name, "path": str(p.path), "shipped": p.shipped, "summary": p.summary} for p in found
        ], indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(box=None, show_edge=False, pad_edge=False, header_style="bold")
    table.add_column("profile", no_wrap=True)
    table.add_column("what it sets up", overflow="fold")
    for p in found:
        table.add_row(p.name + ("" if p.shipped else " (yours)"), p.summary)
    console = Console(highlight=False, markup=False)
    console.print(table)
    console.print("use: lynkr run --profile NAME claude, lynkr serve --profile NAME, lynkr init --profile NAME", style="dim")


def setting_docs(model: Any, prefix: str = "") -> list[tuple[str, str, str, str]]:
    """(dotted key, type, default, description) for every leaf setting, read from the models."""
    from pydantic import BaseModel

    rows: list[tuple[str, str, str, str]] = []
    for name, info in model.model_fields.items():
        key = f"{prefix}{name}"
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            rows += setting_docs(annotation, f"{key}.")
            continue
        kind = getattr(annotation, "__name__", None) or str(annotation).replace("typing.", "")
        default = info.get_default(call_default_factory=True)
        shown = "-" if default is None else json.dumps(default, default=str)
        description = info.description or ""
        if "ProviderSettings" in str(annotation):
            kind, shown = "table per provider id", "{}"
            description = "one [providers.<id>] table per provider, keys below"
        rows.append((key, kind.replace("NoneType", "None"), shown, description))
    return rows


@config_app.command("keys")
def keys(
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """List every setting: dotted key, type, default and what it does."""
    from lynkr_cli.settings import ProviderSettings, Settings

    rows = setting_docs(Settings) + [
        (f"providers.<id>.{key}", kind, default, text) for key, kind, default, text in setting_docs(ProviderSettings)
    ]
    if as_json:
        typer.echo(json.dumps([dict(zip(("key", "type", "default", "description"), row)) for row in rows], indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(box=None, show_edge=False, pad_edge=False, header_style="bold")
    table.add_column("setting", no_wrap=True)
    table.add_column("default", overflow="fold", max_width=20)
    table.add_column("description", overflow="fold")
    for key, _kind, default, text in rows:
        table.add_row(key, default, text)
    console = Console(highlight=False, markup=False)
    console.print(table)
    console.print("env: LYNKR_<KEY> with __ between levels, e.g. LYNKR_SERVE__PORT; files: [section] key = …",
                  style="dim")
