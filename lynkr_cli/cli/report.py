"""``lynkr report``: past sessions from the ledger — one session in detail, or a period at a glance."""

from __future__ import annotations

import json
from typing import Optional

import typer


def report(
    session: Optional[str] = typer.Option(
        None, "--session", "-s", metavar="ID", help="Session id (or a unique prefix)."
    ),
    last: int = typer.Option(1, "--last", "-n", min=1, metavar="N", help="Show the last N sessions."),
    since: Optional[str] = typer.Option(
        None, "--since", metavar="AGE|DATE", help="Overview of sessions since 7d, 12h, 30m, 2w or YYYY-MM-DD."
    ),
    all_: bool = typer.Option(False, "--all", help="Overview of every recorded session."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
    as_csv: bool = typer.Option(False, "--csv", help="Print one CSV row per session (with --since/--all/--last)."),
    requests: bool = typer.Option(False, "--requests", help="List every request of the session(s), also in --json."),
    by_key: bool = typer.Option(False, "--by-key", help="Usage per user key (lynkr keys), with --since or --all."),
    storage: Optional[str] = typer.Option(
        None, "--storage", metavar="URL",
        help="Read the team database at this postgresql:// URL [default: [storage] url, else the SQLite ledger].",
    ),
) -> None:
    """Show the last session (or --session ID, the --last N), or an overview with --since/--all.

    A session's report names which source priced each model, the loop guard's findings and every kind
    of failed request (status, provider, message, count); --requests lists every request. The overview has totals, per-day sparklines, bar charts per agent, model and tier, tokens saved
    by each optimization stage and cache hits.
    """
    from lynkr_cli.errors import UsageError

    if as_json and as_csv:
        raise UsageError("choose one of --json and --csv")
    if requests and (since is not None or all_ or as_csv):
        raise UsageError("--requests lists one session's requests: use it without --since, --all and --csv")
    reader = _reader(storage)
    if not reader.exists():  # a new user: nothing recorded is an empty answer, not an error
        if as_json and (since is not None or all_):
            from lynkr_cli.ledger.overview import build_overview, parse_since

            empty = build_overview([], lambda _id: [], since=parse_since(since) if since is not None else None)
            typer.echo(json.dumps(empty.to_dict(), indent=2))
        elif as_json:
            typer.echo("[]" if session is None else "null")
        elif as_csv:
            from lynkr_cli.cli.render_overview import CSV_FIELDS

            typer.echo(",".join(CSV_FIELDS))
        else:
            typer.echo(f"no sessions recorded yet (the ledger {reader.path} does not exist)")
        return
    try:
        if by_key:
            _by_key(reader, since, as_json)
            return
        if since is not None or all_ or as_csv:
            _overview(reader, since, all_, last, as_json, as_csv)
            return
        from lynkr_cli.ledger.report import summarize

        if session is not None:
            found = reader.session(session)
            if found is None:
                candidates = reader.session_ids(session)
                if len(candidates) > 1:
                    listed = ", ".join(candidates[:3]) + (", …" if len(candidates) > 3 else "")
                    raise UsageError(f"{session!r} matches several sessions ({listed}); give more of the id")
                raise UsageError(f"no session matches {session!r}")
            sessions = [found]
        else:
            sessions = reader.sessions(last=last)
        rows = {s["id"]: reader.requests(s["id"]) for s in sessions}
        summaries = [summarize(s, rows[s["id"]]) for s in sessions]
    finally:
        reader.close()
    if as_json:
        data = [dict(s.to_dict(), **({"requests": rows[s.session_id]} if requests else {})) for s in summaries]
        typer.echo(json.dumps(data[0] if session is not None else data, indent=2))
        return
    if not summaries:
        typer.echo("no sessions recorded yet")
        return
    import sys

    from lynkr_cli.cli.render import print_full_report

    for summary in summaries:
        print_full_report(summary, file=sys.stdout, requests=rows[summary.session_id] if requests else None)


def _overview(reader, since: str | None, all_: bool, last: int, as_json: bool, as_csv: bool) -> None:  # type: ignore[no-untyped-def]
    import sys

    from lynkr_cli.ledger.overview import build_overview, parse_since

    start = parse_since(since) if since is not None else None
    sessions = reader.sessions(last=0 if (start is not None or all_) else last, since=start)
    requests_of = reader.requests
    if len(sessions) > 200 and sys.stderr.isatty():  # a long history: show that work is happening
        from rich.progress import Progress

        progress = Progress(transient=True)
        task = progress.add_task("reading sessions", total=len(sessions))

        def requests_of(session_id: str):  # type: ignore[no-untyped-def]
            progress.advance(task)
            return reader.requests(session_id)

        with progress:
            overview = build_overview(sessions, requests_of, since=start)
    else:
        overview = build_overview(sessions, requests_of, since=start)
    if as_json:
        typer.echo(json.dumps(overview.to_dict(), indent=2))
    elif as_csv:
        from lynkr_cli.cli.render_overview import overview_csv

        typer.echo(overview_csv(overview), nl=False)
    else:
        from lynkr_cli.cli.render_overview import print_overview

        title = f"since {since}" if since else ("all sessions" if all_ else f"last {last}")
        print_overview(overview, file=sys.stdout, title=title)


def _reader(storage: str | None):  # type: ignore[no-untyped-def]
    """The SQLite ledger, or the team database (``--storage`` or ``[storage] url``); both read alike.
    The settings are read only when something may name a URL (``config/storage_hint.py``)."""
    from lynkr_cli.ledger import LedgerReader
    from lynkr_cli.config.storage_hint import may_name_storage

    if storage is None and not may_name_storage():
        return LedgerReader()
    from lynkr_cli.cli.storage_option import open_storage
    from lynkr_cli.storage import LEDGER

    opened = open_storage(storage)
    if not opened.shared:
        return LedgerReader()
    return LedgerReader(database=opened.database(LEDGER))


def _by_key(reader, since: str | None, as_json: bool) -> None:  # type: ignore[no-untyped-def]
    """Requests, tokens and dollars per user key over a period (all of it without --since)."""
    import sys
    from dataclasses import asdict

    from lynkr_cli.ledger.overview import build_overview, parse_since

    start = parse_since(since) if since is not None else None
    overview = build_overview(reader.sessions(last=0, since=start), reader.requests, since=start)
    if as_json:
        typer.echo(json.dumps({"since": overview.since, "until": overview.until,
                               "by_key": [asdict(line) for line in overview.by_key]}, indent=2))
        return
    from lynkr_cli.cli.render_overview import print_by_key

    print_by_key(overview, file=sys.stdout, title=f"since {since}" if since else "all sessions")
