"""One ``lynkr replay`` run: find transcripts, replay each, write what was asked for.

Transcripts are read one at a time (a month of sessions can be gigabytes), each replayed and
forgotten; only its figures are kept. ``--emit-last`` writes each session's last request as lynkr
would send it upstream, with anything shaped like a credential replaced (``redact``): transcripts
hold whatever went through the agent's terminal, keys included, and replay never writes one out.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, TextIO

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
    jobs: int = 1  # worker processes (sessions are independent)
    verify: bool = False  # also undo the reversible stages and compare (replay/verify.py)


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
    from lynkr_cli.ledger.pricing import PriceBook

    book = PriceBook.from_config(settings.prices)  # the config's [prices] too, as lynkr report prices
    return Replayer(pipeline, target=target, router=router, keep_last=keep_last, book=book, verify=options.verify)


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
    """Every transcript's figures, in file order (oldest first); with ``options.jobs`` > 1 the files are
    shared among worker processes (sessions are independent: each has its own pipeline state)."""
    from lynkr_cli.replay.transcripts import find_transcripts

    files = find_transcripts(options.paths, options.since, options.last)
    if options.emit_last is not None:
        _make_dir(options.emit_last)
    progress = progress or Progress(len(files))
    jobs = max(1, min(options.jobs, len(files)))
    with _fewer_collections():  # the forked workers inherit it
        if jobs == 1:
            replayer = build_replayer(options, settings, keep_last=options.emit_last is not None)
            done = (_replay_file(replayer, options, path, name) for path, name in zip(files, _emit_names(files)))
            results = _collect(done, warn, progress)
        else:
            results = _collect(_in_workers(options, settings, files, jobs), warn, progress)
    progress.close()
    return results


GC_FIRST_THRESHOLD = 50_000


@contextmanager
def _fewer_collections() -> Iterator[None]:
    """Python's cycle collector runs less often while sessions are replayed.

    Replay allocates millions of small containers that live until their session is done (parsed
    transcript lines, rebuilt requests, the stages' progress) and form almost no cycles; with the
    default first threshold (a young-generation pass every 700 allocations) walking them took ~10% of
    replay's time (bench/replay.py). Cycles are still collected, ~70 times less often."""
    import gc

    old = gc.get_threshold()
    gc.set_threshold(max(GC_FIRST_THRESHOLD, old[0]), *old[1:])
    try:
        yield
    finally:
        gc.set_threshold(*old)


def _collect(done: Iterable[tuple[SessionResult | None, list[str]]], warn: Callable[[str], None],
             progress: Progress) -> list[SessionResult]:
    results: list[SessionResult] = []
    requests = 0
    for count, (result, warnings) in enumerate(done, start=1):
        for message in warnings:
            warn(message)
        if result is not None:
            requests += result.requests
            results.append(result)
        progress.update(count, requests)
    return results


def _emit_names(files: list[Path]) -> list[str]:
    """``--emit-last`` file names: the transcript's stem, with ``-2``, ``-3`` … for a stem already
    used by an earlier transcript of the run (``session.jsonl`` in several folders)."""
    used: dict[str, int] = {}
    names = []
    for path in files:
        count = used[path.stem] = used.get(path.stem, 0) + 1
        names.append(path.stem if count == 1 else f"{path.stem}-{count}")
    return names


def _replay_file(replayer: Replayer, options: ReplayOptions, path: Path,
                 name: str) -> tuple[SessionResult | None, list[str]]:
    """One transcript replayed: its result (None without requests) and the warnings met."""
    from lynkr_cli.replay.load import load_session

    warnings: list[str] = []
    session = load_session(path, warnings.append)
    if not session.requests:
        return None, warnings
    result = replayer.replay(session)
    if options.emit_last is not None and result.last_body is not None:
        _emit(options.emit_last / f"{name}.json", result.last_body, warnings.append)
    result.last_body = None
    return result, warnings


_worker: tuple[Replayer, ReplayOptions] | None = None


def _start_worker(options: ReplayOptions, settings: Any) -> None:
    global _worker
    _worker = (build_replayer(options, settings, keep_last=options.emit_last is not None), options)


def _in_worker(path: Path, name: str) -> tuple[SessionResult | None, list[str]]:
    assert _worker is not None
    return _replay_file(_worker[0], _worker[1], path, name)


def _in_workers(options: ReplayOptions, settings: Any, files: list[Path],
                jobs: int) -> Iterator[tuple[SessionResult | None, list[str]]]:
    """Results in file order, computed by ``jobs`` forked workers (they inherit the built tokenizer)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from lynkr_cli import tokens
    from lynkr_cli.ledger.pricing import DEFAULT_BOOK

    tokens.encoding()
    DEFAULT_BOOK.warm()  # the price catalogue (~0.1 s of CPU) loaded once, not once per worker
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(jobs, mp_context=context, initializer=_start_worker,
                             initargs=(options, settings)) as pool:
        # The biggest transcripts first, so one long session does not finish alone at the end.
        by_size = sorted(range(len(files)), key=lambda i: -_size(files[i]))
        names = _emit_names(files)
        futures = {i: pool.submit(_in_worker, files[i], names[i]) for i in by_size}
        for i in range(len(files)):
            yield futures[i].result()


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _make_dir(path: Path) -> None:
    from lynkr_cli.errors import UsageError

    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create --emit-last directory {path}: {exc.strerror or exc}") from None


def _emit(out: Path, body: bytes, warn: Callable[[str], None]) -> None:
    from lynkr_cli.replay.secrets import scrub

    try:
        out.write_bytes(scrub(body.decode("utf-8", "replace")).encode())
    except OSError as exc:
        warn(f"cannot write {out}: {exc.strerror or exc}")
