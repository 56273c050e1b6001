"""The Typer application: global options and the command table."""

from __future__ import annotations

from typing import Optional

import typer

from lynkr_cli import __version__
from lynkr_cli.cli import cache as cache_cmd
from lynkr_cli.cli import completions as completions_cmd
from lynkr_cli.cli import config as config_cmd
from lynkr_cli.cli import doctor as doctor_cmd
from lynkr_cli.cli import explain as explain_cmd
from lynkr_cli.cli import init as init_cmd
from lynkr_cli.cli import optimize as optimize_cmd
from lynkr_cli.cli import report as report_cmd
from lynkr_cli.cli import run as run_cmd
from lynkr_cli.cli import serve as serve_cmd

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


app.command(
    "run",
    options_metavar="[OPTIONS] AGENT|-- COMMAND [ARGS]...",  # the usage line: what follows the options
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True, "allow_interspersed_args": False},
)(run_cmd.run)
app.command("report")(report_cmd.report)
app.add_typer(config_cmd.config_app, name="config")
app.command("profiles")(config_cmd.profiles)
app.command("serve")(serve_cmd.serve)
app.command("explain")(explain_cmd.explain)
app.command("init")(init_cmd.init)
app.command("optimize")(optimize_cmd.optimize)
app.command("doctor")(doctor_cmd.doctor)
app.command("completions")(completions_cmd.completions)
app.add_typer(cache_cmd.cache_app, name="cache")
