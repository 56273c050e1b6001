"""Command-line usage errors as one line, the way ``lynkr run`` already reports its own.

Click (vendored by Typer) prints three lines for a typo (the usage, a hint, then the error); a user
who typed ``lynkr rnu`` needs only the last one, with the suggestion on the same line::

    lynkr: no such command 'rnu' (did you mean 'run'?)

The exit code stays Click's (2). A bare group (``lynkr cache``) still prints its help: that is help,
not an error.
"""

from __future__ import annotations

import difflib
import re

# Typer vendors Click under ``typer._click`` and re-exports only ``BadParameter``: the other classes
# come from there (the version is pinned in pyproject).
from typer._click.exceptions import NoArgsIsHelpError, NoSuchOption, UsageError

from lynkr_cli.printable import printable

_DID_YOU_MEAN = re.compile(r"\.?\s*Did you mean (.+?)\?$", re.DOTALL)


def is_usage_error(exc: BaseException) -> bool:
    """A usage error to shorten (a bare group's help is shown as Click shows it)."""
    return isinstance(exc, UsageError) and not isinstance(exc, NoArgsIsHelpError)


def usage_line(exc: UsageError) -> str:
    """``<command path>: <message> (did you mean …?)`` on one line, control characters escaped."""
    if isinstance(exc, NoSuchOption):
        message = exc.message
        if exc.possibilities:  # Click's close matches; the closest one is the suggestion
            best = difflib.get_close_matches(exc.option_name, list(exc.possibilities), n=1, cutoff=0)
            message += f" (did you mean {best[0]}?)"
    else:
        message = exc.format_message()
        message = _DID_YOU_MEAN.sub(lambda m: f" (did you mean {m[1]}?)", message)
    message = " ".join(message.split()).rstrip(".")
    message = message[:1].lower() + message[1:]
    where = exc.ctx.command_path if exc.ctx is not None else "lynkr"
    return printable(f"{where}: {message}")
