"""The ``lynkr`` command. Each command group lives in its own module and is imported only when run."""

from __future__ import annotations

import sys

from lynkr_cli.errors import LynkrError


def main() -> None:
    """Console entry point: runs the Typer app and turns a ``LynkrError`` into one clear line."""
    try:
        code = _fast_run(sys.argv[1:])
        if code is not None:
            _exit_now(code)
        from lynkr_cli.cli.app import app

        code = app(standalone_mode=False, prog_name="lynkr")  # also under `python -m lynkr_cli`
    except LynkrError as error:
        from lynkr_cli.printable import printable

        print(f"lynkr: {printable(error, newlines=True)}", file=sys.stderr)  # may quote a client or upstream
        sys.exit(error.exit_code)
    except KeyboardInterrupt:
        print("lynkr: interrupted", file=sys.stderr)
        sys.exit(130)
    except Exception as exc:
        _exit_for_parser_error(exc)
    sys.exit(code if isinstance(code, int) else 0)


def _exit_for_parser_error(exc: Exception) -> None:
    """Typer's (vendored Click's) usage errors become one line and exit 2, aborts exit 1; anything
    else is a bug and keeps its traceback."""
    import typer

    if isinstance(exc, typer.Abort) or type(exc).__name__ == "Abort":
        print("lynkr: aborted", file=sys.stderr)
        sys.exit(1)
    from lynkr_cli.cli.usage import is_usage_error, usage_line

    if is_usage_error(exc):  # one line, as ``lynkr run`` says its own (cli/usage.py)
        print(usage_line(exc), file=sys.stderr)  # type: ignore[arg-type]
        sys.exit(2)
    if isinstance(exc, typer.TyperException):  # other Click exceptions, a bare group's help
        show = exc.show  # type: ignore[attr-defined]
        show()
        sys.exit(exc.exit_code)
    raise exc


def _exit_now(code: int) -> None:
    """Exit right after a run: the session is recorded and the report printed, so skip the
    interpreter's teardown (~30 ms, mostly a proxy thread still importing if the agent was quick)."""
    import os

    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (``lynkr run … | head``) has nothing to receive
            pass
    os._exit(code)


def _fast_run(argv: list[str]) -> int | None:
    """``lynkr run …`` without importing Typer (it wraps every agent start; see ``run_options``), and
    ``lynkr statusline`` (Claude Code runs it after every message; ``statusline/command.py``).
    None when the full command-line parser must answer instead."""
    if argv and argv[0] == "statusline":
        from lynkr_cli.statusline.command import main as statusline

        return statusline(argv[1:])
    if not argv or argv[0] != "run":
        return None
    from lynkr_cli.cli.run_options import NeedsFullParser, parse_run_args, start

    try:
        parsed = parse_run_args(argv[1:])
    except NeedsFullParser:
        return None
    return start(parsed)
