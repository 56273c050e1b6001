"""Where the proxy's warnings go: under ``lynkr run`` a file, never the agent's terminal.

The proxy's components log what they skipped (a pipeline stage that failed open, a cache that could
not be read, a failover). With no handler configured, Python's last-resort handler prints those
records, tracebacks included, to stderr, which under ``lynkr run`` is the agent's terminal: a
warning would land in the middle of Claude Code's screen. ``lynkr run`` sends them to
``$LYNKR_HOME/lynkr.log`` instead (user-only, rotated at 1 MB); ``lynkr serve`` owns its terminal
and keeps printing them there.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
from pathlib import Path

from lynkr_cli.paths import ensure_private_dir
from lynkr_cli.printable import printable
from lynkr_cli.redact import redact_text

_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class _PrivateRotatingFile(logging.handlers.RotatingFileHandler):
    """A rotating log file created readable by its owner only (error text can name hosts and paths)."""

    def _open(self):  # type: ignore[no-untyped-def]
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        return os.fdopen(fd, "a", encoding=self.encoding or "utf-8")


class SafeFormatter(logging.Formatter):
    """Log lines quote requests and upstream answers (a path, a model, an error body, a traceback's
    values): credentials are redacted and control characters escaped before a line is written, so a
    log shown with ``cat`` or on ``lynkr serve``'s terminal can neither leak a key nor run an escape
    sequence."""

    def format(self, record: logging.LogRecord) -> str:
        # (imported at the top: a lazy import can fail exactly when descriptors have run out)
        return printable(redact_text(super().format(record)), newlines=True)


def log_to_file(path: Path) -> logging.Handler:
    """Send every log record of this process (lynkr's, asyncio's, Hypercorn's) to ``path``."""
    ensure_private_dir(path.parent)
    handler = _PrivateRotatingFile(path, maxBytes=1 << 20, backupCount=1, encoding="utf-8", delay=True)
    return _install(handler)


class _Stderr:
    """Whatever ``sys.stderr`` is when a record is written (rich's live status line swaps it, so log
    lines print above the status line instead of through it)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def log_to_stderr() -> logging.Handler:
    """``lynkr serve``: the same records on its own terminal, through the same redaction."""
    return _install(logging.StreamHandler(_Stderr()))


def _install(handler: logging.Handler) -> logging.Handler:
    handler.setFormatter(SafeFormatter(_FORMAT))
    root = logging.getLogger()
    root.addHandler(handler)  # with a handler in place, the last-resort one stays silent
    logging.getLogger("lynkr").setLevel(logging.INFO)  # lynkr's own notes too (a failover), not only warnings
    return handler
