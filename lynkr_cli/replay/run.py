"""One ``lynkr replay`` run: find transcripts, replay each, write what was asked for.

Transcripts are read one at a time (a month of sessions can be gigabytes), each replayed and
forgotten; only its figures are kept. ``--emit-last`` writes each session's last request as lynkr
would send it upstream, with anything shaped like a credential replaced (``redact``): transcripts
hold whatever went through the agent's terminal, keys included, and replay never writes one out.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, TextIO

from lynkr_cli.replay.engine import Replayer, SessionResult


@dataclass
class ReplayOptions:
    paths: list[Path]
    since: float | None = None
    last: int = 0
    emit_last: Path | None = None
    target: str | None = None  # provider:model
    profile: str | None = None
    switches: list[str] = field(default_factory=list)
    no_optimize: bool = False


class Progress:
    """A one-line progress bar on a terminal (nothing when stderr is not one, or for one file)."""

    def __init__(self, total: int, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.total = total
        self.enabled = total > 1 and self.stream.isatty()

    def update(self, done: int, requests: int) -> None:
        if not self.enabled:
            return
        width = 30
        filled = width * done // self.total
        self.stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{self.total} transcripts, "
                          f"{requests:,} requests")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\r" + " " * 72 + "\r")
            self.stream.flush()


def build_replayer(options: ReplayOptions, settings: Any, keep_last: bool) -> Replayer:
    """The pipeline (and target provider, router) exactly as ``lynkr run``/``serve`` would build them."""
    from lynkr_cli.pipeline.build import build_pipeline
    from lynkr_cli.pipeline.config import with_switches

    pipeline = build_pipeline(with_switches(settings.pipeline, options.no_optimize, options.switches))
    target = _target(options.target) if options.target else None
    router = None
    if options.profile is not None:
        from lynkr_cli.routing.setup import build_router

        router = build_router(settings)
    return Replayer(pipeline, target=target, router=router, keep_last=keep_last)


def _target(text: str) -> Any:
    """The provider adapter for ``provider:model``, configured with a placeholder key: replay builds
    the upstream request to measure it and never sends it."""
    from lynkr_cli.errors import UsageError
    from lynkr_cli.providers.base import get_registry, parse_model_ref

    ref = parse_model_ref(text)
    provider = get_registry()[ref.provider].resolve({}, {"api_key": "replay-never-sent",
                                                         "base_url": "http://127.0.0.1:9"})
    if provider.wire_format_for("anthropic") not in ("anthropic", "openai-chat", "openai-responses"):
        raise UsageError(f"--model {text}: replay bills Anthropic- and OpenAI-format upstreams only")
    return provider, ref.model


def replay_all(options: ReplayOptions, settings: Any, warn: Callable[[str], None],
               progress: Progress | None = None) -> list[SessionResult]:
    from lynkr_cli.replay.load import load_session
    from lynkr_cli.replay.transcripts import find_transcripts

    files = find_transcripts(options.paths, options.since, options.last)
    replayer = build_replayer(options, settings, keep_last=options.emit_last is not None)
    progress = progress or Progress(len(files))
    results: list[SessionResult] = []
    requests = 0
    if options.emit_last is not None:
        _make_dir(options.emit_last)
    for done, path in enumerate(files, start=1):
        session = load_session(path, warn)
        if not session.requests:
            progress.update(done, requests)
            continue
        result = replayer.replay(session)
        requests += result.requests
        if options.emit_last is not None and result.last_body is not None:
            _emit(options.emit_last, path, result.last_body, warn)
        result.last_body = None
        results.append(result)
        progress.update(done, requests)
    progress.close()
    return results


def _make_dir(path: Path) -> None:
    from lynkr_cli.errors import UsageError

    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create --emit-last directory {path}: {exc.strerror or exc}") from None


def _emit(directory: Path, transcript: Path, body: bytes, warn: Callable[[str], None]) -> None:
    from lynkr_cli.replay.secrets import scrub

    out = directory / f"{transcript.stem}.json"
    try:
        out.write_bytes(scrub(body.decode("utf-8", "replace")).encode())
    except OSError as exc:
        warn(f"cannot write {out}: {exc.strerror or exc}")
