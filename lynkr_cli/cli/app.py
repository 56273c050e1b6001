"""The Typer application: global options and the command table."""

from __future__ import annotations

from typing import Optional

import typer

from lynkr_cli import __version__
from lynkr_cli.cli import cache as cache_cmd
from lynkr_cli.cli import completions as completions_cmd
from lynkr_cli.cli import config as config_cmd
from lynkr_cli.cli import db as db_cmd
from lynkr_cli.cli import doctor as doctor_cmd
from lynkr_cli.cli import explain as explain_cmd
from lynkr_cli.cli import init as init_cmd
from lynkr_cli.cli import keys as keys_cmd
from lynkr_cli.cli import optimize as optimize_cmd
from lynkr_cli.cli import replay as replay_cmd
from lynkr_cli.cli import report as report_cmd
from lynkr_cli.cli import run as run_cmd
from lynkr_cli.cli import serve as serve_cmd
from lynkr_cli.cli import statusline as statusline_cmd

app = typer.Typer(
    name="lynkr",
    help="Run AI coding agents through a local optimizing proxy, and see what each session cost.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},  # `lynkr run -h` is help, as `--help` is
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"lynkr {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Optional[bool] = typer.Option(
        None, "--version", "-V", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Run AI coding agents through a local optimizing proxy, and see what each session cost."""


# ``short_help``: the one line ``lynkr --help`` lists, short enough not to be cut at 80 columns.
app.command(
    "run",
    short_help="Run an agent (claude, codex) or -- any command through lynkr.",
    options_metavar="[OPTIONS] AGENT|-- COMMAND [ARGS]...",  # the usage line: what follows the options
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True, "allow_interspersed_args": False},
)(run_cmd.run)
app.command("report", short_help="Show past sessions, or an overview with --since/--all.")(report_cmd.report)
app.add_typer(config_cmd.config_app, name="config",
              short_help="Show the configuration and where each value comes from.")
app.command("profiles", short_help="List the profiles --profile accepts.")(config_cmd.profiles)
app.command("serve", short_help="Serve the proxy for editors, SDKs and other clients.")(serve_cmd.serve)
app.command("explain", short_help="Show which tier and model a prompt would get, and why.")(explain_cmd.explain)
app.command("init", short_help="Write a config: agents, providers, tiers, budgets.")(init_cmd.init)
app.command("replay", short_help="Replay past sessions offline: what lynkr would have saved.")(replay_cmd.replay)
app.command("optimize", short_help="Show what the optimization does to a saved request.")(optimize_cmd.optimize)
app.command("doctor", short_help="Check agents, config, providers, ledger and ports.")(doctor_cmd.doctor)
app.command("statusline", short_help="One line of live figures for Claude Code's status line.")(
    statusline_cmd.statusline)
app.command("completions", short_help="Print the completion script for bash, zsh or fish.")(completions_cmd.completions)
app.add_typer(cache_cmd.cache_app, name="cache")
app.add_typer(keys_cmd.keys_app, name="keys", short_help="User keys for lynkr serve: create, list, revoke, rotate.")
app.add_typer(db_cmd.db_app, name="db", short_help="Create or upgrade lynkr's database tables.")
