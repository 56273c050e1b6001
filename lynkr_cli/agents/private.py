"""Files only this run's agent may read: lynkr's Claude Code settings, which carry the session token.

``ps`` shows every user the argv of every process, so a secret never goes on a command line: lynkr
writes it to a 0600 file in a 0700 directory it owns (``$LYNKR_HOME/run``) and passes the path.

- Each run's files are removed when the run ends (``close``), whether the agent exited or lynkr was
  signalled: lynkr forwards signals to the agent and cleans up after it exits.
- A run that was killed (``kill -9``, a crash, a power cut) cannot clean up. Every run holds an
  exclusive ``flock`` on each of its files while it lives; the next ``lynkr run`` removes the files
  nobody holds a lock on. A lock, unlike a pid, cannot be mistaken for another process's.
- A file is written under a dot-name and renamed once locked, so a sweep starting at that moment
  never takes a half-made file for a stale one.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

from lynkr_cli.errors import LynkrError

RUN_DIR = "run"


class PrivateFiles:
    """A run's private files in ``directory`` (created 0700, checked to be the user's own)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._held: dict[Path, int] = {}  # path -> open descriptor holding its lock
        self._prepared = False

    @classmethod
    def for_run(cls, data_home: Path) -> "PrivateFiles":
        """The run directory under lynkr's data home, with the files of killed runs swept away.
        Nothing is created until a file is written (``lynkr run -- cmd`` writes none)."""
        files = cls(data_home / RUN_DIR)
        files.sweep()
        return files

    def write(self, name: str, text: str) -> Path:
        """Write ``text`` to a new 0600 file; its path (absolute) stays valid until ``close``."""
        import fcntl

        if not self._prepared:
            self._prepare()
            self._prepared = True
        stem, dot, suffix = name.rpartition(".")
        final = self.directory / (f"{stem}-{secrets.token_hex(6)}.{suffix}" if dot else f"{name}-{secrets.token_hex(6)}")
        partial = self.directory / f".{final.name}"
        try:
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise LynkrError(f"cannot create a private file in {self.directory}: {exc.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            os.write(fd, text.encode())
            os.rename(partial, final)
        except OSError as exc:
            os.close(fd)
            _unlink(partial)
            raise LynkrError(f"cannot write a private file in {self.directory}: {exc.strerror}") from None
        self._held[final] = fd
        return final.absolute()

    def close(self) -> None:
        """Remove this run's files (and release their locks). Safe to call twice."""
        for path, fd in list(self._held.items()):
            _unlink(path)
            os.close(fd)
        self._held.clear()

    def sweep(self) -> int:
        """Remove files left by runs that no longer exist (no lock held on them); returns how many."""
        import fcntl

        removed = 0
        try:
            names = os.listdir(self.directory)
        except OSError:
            return 0
        for name in names:
            path = self.directory / name
            if name.startswith(".") and not _older_than(path, 60.0):
                continue  # being made right now: renamed once locked
            try:
                fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
            except OSError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                continue  # a live run holds it
            _unlink(path)
            os.close(fd)
            removed += 1
        return removed

    def _prepare(self) -> None:
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            info = os.lstat(self.directory)
            if not stat.S_ISDIR(info.st_mode):
                raise LynkrError(f"{self.directory} must be a directory (move it aside)")
            if info.st_uid != os.getuid():
                raise LynkrError(f"{self.directory} belongs to another user; lynkr keeps secrets there and "
                                 "will not use it (set LYNKR_HOME to a directory of your own)")
            if stat.S_IMODE(info.st_mode) != 0o700:
                os.chmod(self.directory, 0o700)
        except OSError as exc:
            raise LynkrError(f"cannot prepare {self.directory} for this run's private files: "
                             f"{exc.strerror or exc}") from None


def _older_than(path: Path, seconds: float) -> bool:
    import time

    try:
        return os.lstat(path).st_mtime < time.time() - seconds
    except OSError:
        return False


def _unlink(path: Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
