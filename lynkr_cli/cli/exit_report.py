"""What ``lynkr run`` prints when the agent has exited: the session's report, and why the proxy or
the ledger failed if one did. Passed to ``session.run`` by the command (``cli/run_options.py``), so
the session itself never depends on how reports are rendered."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lynkr_cli.ledger import Ledger
    from lynkr_cli.session import RunOptions


def print_exit_report(session_id: str, options: RunOptions, ledger: Ledger, failure: BaseException | None) -> None:
    """The session report at exit (``--report``, ``--report-json``) and the failure, if any, in one line."""
    if failure is not None:
        from lynkr_cli.printable import printable

        print(f"lynkr: error: {printable(failure, newlines=True)}", file=sys.stderr)
    if options.report == "none" and options.report_json is None:
        return
    from lynkr_cli.ledger.report import summarize

    reader = ledger.reader()
    try:
        session = reader.session(session_id)
        if session is None:
            return
        summary = summarize(session, reader.requests(session_id))
    finally:
        reader.close()
    if options.report_json is not None:
        try:
            options.report_json.write_text(json.dumps(summary.to_dict(), indent=2) + "\n")
        except OSError as exc:  # the session is recorded (lynkr report --json has it) and the exit code kept
            print(f"lynkr: cannot write --report-json {options.report_json}: {exc.strerror or exc}", file=sys.stderr)
    if options.report == "short":
        from lynkr_cli.cli.render import short_report

        print(short_report(summary), file=sys.stderr)
    elif options.report == "full":
        from lynkr_cli.cli.render import print_full_report

        print_full_report(summary)
