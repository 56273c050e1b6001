"""Retention for the files lynkr writes one at a time and never rewrites: old ones are deleted.

``$LYNKR_HOME/pipeline/`` gets one small file of decisions per agent session and ``elided/`` one file per
lossy elision (possibly a huge log). Nothing else ever removes them, so months of daily ``lynkr run``
would leave tens of thousands of files. A file not modified for ``retention_days`` (default 30; 0 keeps
everything) is deleted: reading a decision file and re-eliding the same text refresh the mtime, so a
conversation still in use keeps its files.

Why it is shaped like this:

* It runs on a daemon thread started once the proxy has read its settings, never before the agent
  starts: ``lynkr run -- true`` must stay fast. A process that exits mid-sweep loses nothing (each
  deletion is one ``unlink``); the next run finishes the job.
* At most once a day per home (the mtime of the stamp file ``.housekeeping``), and each pass is
  bounded in deletions and time, so a backlog of 100k expired files is cleared by a few bounded passes,
  not one long burst of I/O. A pass stopped early after deleting something leaves the stamp alone, so
  the next run continues; one that deleted nothing (a huge directory of recent files on a slow disk)
  stamps anyway, so it is not repeated on every run. The thread pauses for a millisecond every few
  hundred files, so the proxy's thread gets the interpreter whenever it needs it.
* Only regular files whose names match what lynkr writes (``<32 hex>.json``, ``<hex>.txt`` and the
  ``.<pid>.tmp`` files of an interrupted write, after a day) are touched; symlinks are neither
  followed nor deleted, a directory that is itself a symlink is left alone, and every ``OSError`` is
  ignored (logged at debug): housekeeping must never break a session.
"""

from __future__ import annotations

import logging
import os
import re
import stat
import threading
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("lynkr.housekeeping")

DAY = 24 * 3600
STAMP = ".housekeeping"
TMP_AGE = DAY  # a write in progress takes milliseconds; a day-old .tmp is from a killed process

# What lynkr writes in each directory (decisions.py, elided.py): anything else is not ours to delete.
PATTERNS = {
    "pipeline": re.compile(r"[0-9a-f]{32}\.json"),
    "elided": re.compile(r"[0-9a-f]{8,64}\.txt"),
}
TMP_PATTERN = re.compile(r"[0-9a-f]{8,64}\.\d+\.tmp")


@dataclass
class SweepResult:
    """What one sweep did (logged, and read by tests)."""

    deleted: int = 0
    freed_bytes: int = 0
    complete: bool = True


def due(home: Path, now: float | None = None) -> bool:
    """True when no sweep has completed in the last day (or the stamp is unreadable or from the future)."""
    now = time.time() if now is None else now
    try:
        mtime = os.stat(home / STAMP, follow_symlinks=False).st_mtime
    except OSError:
        return True
    return not (now - DAY < mtime <= now + 60)


def sweep(
    home: Path,
    retention_days: float,
    now: float | None = None,
    max_deletions: int = 10_000,
    budget_seconds: float = 10.0,
) -> SweepResult:
    """Delete expired files under ``home/pipeline`` and ``home/elided``; stamp ``home`` when done.

    ``retention_days <= 0`` keeps everything (nothing is even listed). The bounds make the cost of one
    sweep small whatever the directory holds; an unfinished sweep reports ``complete=False`` (and is
    continued by the next run if it made progress)."""
    result = SweepResult()
    if retention_days <= 0:
        return result
    now = time.time() if now is None else now
    deadline = time.monotonic() + budget_seconds
    cutoff = now - retention_days * DAY
    for name, pattern in PATTERNS.items():
        if not _sweep_dir(home / name, pattern, cutoff, now - TMP_AGE, result, max_deletions, deadline):
            result.complete = False
            break
    if result.complete or not result.deleted:
        _stamp(home, now)
    if result.deleted:
        log.info("housekeeping: removed %d file(s), %.1f MB, unused for %g days", result.deleted,
                 result.freed_bytes / 1e6, retention_days)
    return result


def _sweep_dir(directory: Path, pattern: re.Pattern[str], cutoff: float, tmp_cutoff: float,
               result: SweepResult, max_deletions: int, deadline: float) -> bool:
    """Sweep one directory; False when a bound stopped it early."""
    try:
        # O_NOFOLLOW: a directory replaced by a symlink is not ours to sweep; dir_fd keeps every later
        # stat and unlink inside the directory we opened, whatever happens to its path meanwhile.
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError as exc:
        log.debug("housekeeping: skipping %s: %s", directory, exc)
        return True  # missing (never used) or not a real directory: nothing to do
    try:
        with os.scandir(fd) as entries:
            for seen, entry in enumerate(entries, 1):
                if result.deleted >= max_deletions or time.monotonic() > deadline:
                    return False
                if seen % 256 == 0:
                    time.sleep(0.001)  # let the proxy's thread run: it serves the agent meanwhile
                limit = cutoff if pattern.fullmatch(entry.name) else (
                    tmp_cutoff if TMP_PATTERN.fullmatch(entry.name) else None)
                if limit is None:
                    continue
                try:
                    info = entry.stat(follow_symlinks=False)
                    if not stat.S_ISREG(info.st_mode) or info.st_mtime >= limit:
                        continue
                    os.unlink(entry.name, dir_fd=fd)
                except OSError as exc:
                    log.debug("housekeeping: could not remove %s/%s: %s", directory, entry.name, exc)
                    continue
                result.deleted += 1
                result.freed_bytes += info.st_size
    except OSError as exc:
        log.debug("housekeeping: could not list %s: %s", directory, exc)
    finally:
        os.close(fd)
    return True


def _stamp(home: Path, now: float) -> None:
    try:
        fd = os.open(home / STAMP, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        try:
            os.utime(fd, (now, now))
        finally:
            os.close(fd)
    except OSError as exc:
        log.debug("housekeeping: could not stamp %s: %s", home, exc)


RECHECK_SECONDS = 3600  # a long-lived ``lynkr serve`` looks again this often (one stat)


def start(home: Path, retention_days: float, repeat: bool = False) -> threading.Thread | None:
    """Sweep ``home`` on a daemon thread if retention is on and a sweep is due; returns the thread.

    Called by the proxy once its settings are read (``assemble.build_context``), i.e. after the agent was
    launched; the check itself is one ``stat``. ``repeat`` (``lynkr serve``, up for weeks) keeps the
    thread checking hourly, so a server that never restarts still sweeps once a day.
    """
    if retention_days <= 0 or not (repeat or due(home)):
        return None
    thread = threading.Thread(target=_run, args=(home, retention_days, repeat), name="lynkr-housekeeping",
                              daemon=True)
    thread.start()
    return thread


def _run(home: Path, retention_days: float, repeat: bool) -> None:
    from lynkr_cli import background

    # A sweep of many files waits for the agent's first answer, or a few seconds at most (a command that
    # makes no request still gets its sweep).
    if not background.wait_for_quiet(timeout=3.0):
        return  # the agent has exited within its first seconds: the next run sweeps (``due`` stays true)
    while True:
        try:
            if due(home):
                sweep(home, retention_days)
        except Exception:  # never let housekeeping surface in a session  # pragma: no cover - defensive
            log.debug("housekeeping failed", exc_info=True)
        if not repeat:
            return
        time.sleep(RECHECK_SECONDS)
