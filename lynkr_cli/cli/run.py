"""``lynkr run AGENT [ARGS...]`` and ``lynkr run -- COMMAND [ARGS...]``.

Normally ``lynkr run`` never reaches Typer: the console entry point parses it with the fast parser
of ``run_options`` (see there why), which also reports bad options. This Typer command serves
``lynkr run --help`` and shell completion; its parameters are generated from ``RUN_OPTIONS`` so the
two can never disagree. Its body runs only when the Typer app is invoked directly (not through
``lynkr_cli.cli.main``), and then hands over to the same fast parser.
"""

from __future__ import annotations

import inspect
import sys
from typing import Any, List, Optional

import typer

from lynkr_cli.cli.run_options import RUN_OPTIONS, parse_run_args, start


def run(ctx: typer.Context, **_values: Any) -> None:
    """Run an agent (claude, codex) or, after --, any command, through the lynkr proxy.

    Every argument after the agent name reaches the agent unchanged. lynkr's own report goes to
    stderr, so the agent's stdout stays clean for pipes.
    """
    # Parse the raw arguments with the fast parser, so both paths build the run from the same code
    # (and see the ``--`` that Click swallows).
    args = sys.argv[sys.argv.index("run") + 1 :] if "run" in sys.argv else list(ctx.args)
    raise typer.Exit(start(parse_run_args(args)))


def _typer_parameters() -> list[inspect.Parameter]:
    params = [inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context)]
    for option in RUN_OPTIONS:
        if option.is_flag:
            annotation: Any = bool
            default = typer.Option(bool(option.default), *option.flags, help=option.help)
        elif option.repeat:
            annotation = Optional[List[str]]
            default = typer.Option(None, *option.flags, metavar=option.metavar, help=option.help)
        else:
            annotation = Optional[str]
            default = typer.Option(option.default, *option.flags, metavar=option.metavar, help=option.help)
        params.append(
            inspect.Parameter(option.dest, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)
        )
    return params


run.__signature__ = inspect.Signature(_typer_parameters())  # type: ignore[attr-defined]
run.__annotations__ = {p.name: p.annotation for p in run.__signature__.parameters.values()}  # type: ignore[attr-defined]
