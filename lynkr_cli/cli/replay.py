"""``lynkr replay [PATH...]``: what lynkr would have saved on your own past agent sessions."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer


def replay(
    paths: Optional[List[Path]] = typer.Argument(
        None, metavar="PATH", show_default=False,
        help="Transcripts or folders (default: ~/.claude/projects and ~/.codex/sessions).",
    ),
    since: Optional[str] = typer.Option(
        None, "--since", metavar="AGE|DATE", help="Only transcripts written since 7d, 12h, 2w or YYYY-MM-DD."
    ),
    last: int = typer.Option(0, "--last", "-n", min=0, metavar="N", show_default=False,
                             help="Only the newest N transcripts."),
    as_json: bool = typer.Option(False, "--json", help="Print {\"sessions\": [...], \"total\": {...}}."),
    emit_last: Optional[Path] = typer.Option(
        None, "--emit-last", metavar="DIR", help="Write each session's last request, as lynkr would send it."
    ),
    profile: Optional[str] = typer.Option(
        None, "--profile", "-p", metavar="NAME", help="Add the routing counterfactual with this profile's tiers."
    ),
    model: Optional[str] = typer.Option(
        None, "--model", "-m", metavar="PROVIDER:MODEL", help="Bill every request as sent to this model instead."
    ),
    stage: Optional[List[str]] = typer.Option(
        None, "--stage", metavar="NAME=on|off", help="Switch one optimization stage on or off; repeatable."
    ),
    no_optimize: bool = typer.Option(False, "--no-optimize", help="Run no stage (the baseline)."),
    verify: bool = typer.Option(False, "--verify", help="Also undo the reversible rewrites and compare (slower)."),
    jobs: int = typer.Option(0, "--jobs", "-j", min=0, metavar="N", show_default=False,
                             help="Worker processes (default: one per CPU, at most 4)."),
) -> None:
    """Replay past Claude Code, Codex and pi sessions through lynkr, offline, and show the savings.

    Each transcript is rebuilt into the requests the agent sent, run through the same pipeline the
    proxy uses, and billed at list prices with prompt caching, direct and through lynkr. Nothing
    is sent anywhere.
    """
    import json
    import os
    import sys

    from lynkr_cli.errors import UsageError
    from lynkr_cli.ledger.pricing import PRICES_AS_OF
    from lynkr_cli.printable import printable
    from lynkr_cli.replay.report import render, to_json
    from lynkr_cli.replay.run import ReplayOptions, replay_all
    from lynkr_cli.replay.transcripts import default_roots
    from lynkr_cli.config import load_settings

    start = None
    if since is not None:
        from lynkr_cli.ledger.overview import parse_since

        start = parse_since(since)
    chosen = list(paths or []) or [root for root in default_roots(os.environ) if root.exists()]
    missing = [p for p in chosen if not p.exists()]
    if missing:
        raise UsageError(f"no such transcript or folder: {printable(str(missing[0]))}")
    if not chosen:
        raise UsageError("no transcripts found: ~/.claude/projects and ~/.codex/sessions do not exist "
                         "(give the transcripts or folders to replay)")
    settings = load_settings(profile=profile)
    options = ReplayOptions(chosen, since=start, last=last, emit_last=emit_last, target=model, profile=profile,
                            switches=list(stage or []), no_optimize=no_optimize,
                            jobs=jobs or min(os.cpu_count() or 1, 4), verify=verify)

    def warn(message: str) -> None:
        sys.stderr.write(f"lynkr replay: warning: {printable(message)}\n")

    results = replay_all(options, settings, warn)
    if not results:
        raise UsageError("no requests to replay in the transcripts given")
    meta = {"upstream": f"as sent to {model}" if model else "each to its own upstream",
            "prices_as_of": PRICES_AS_OF, "profile": profile, "tokens": "o200k estimate"}
    if as_json:
        sys.stdout.write(json.dumps(to_json(results, meta), indent=2) + "\n")
    else:
        sys.stdout.write(render(results, meta))
