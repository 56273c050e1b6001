"""The ``lynkr`` command. Each command group lives in its own module and is imported only when run."""

from __future__ import annotations

import sys

from lynkr_cli.errors import LynkrError


def main() -> None:
    """Console entry point: runs the Typer app and turns a ``LynkrError`` into one clear line."""
    from lynkr_cli.cli.app import app

    try:
        code = app(standalone_mode=False)
    except LynkrError as error:
        print(f"lynkr: {error}", file=sys.stderr)
        sys.exit(error.exit_code)
    except KeyboardInterrupt:
        print("lynkr: interrupted", file=sys.stderr)
        sys.exit(130)
    except Exception as exc:  # click's own usage errors and aborts
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        if isinstance(exc, click.exceptions.Abort):
            print("lynkr: aborted", file=sys.stderr)
            sys.exit(1)
        raise
    sys.exit(code if isinstance(code, int) else 0)
