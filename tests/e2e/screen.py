"""An agent's interactive UI on a real pseudo-terminal, read as a user sees it.

The terminal is emulated by ``pyte`` (80 columns, as a new user's default window), so what a test
reads is the rendered screen, not raw escape codes; terminal queries (cursor position, status) are
answered the way a terminal would. Every screen drawn is kept (``history``), so a test can assert that
something never appeared, not only that it is absent at the end.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import termios
import time
from pathlib import Path

import pyte

ENTER, DOWN, UP, CTRL_C = "\r", "\x1b[B", "\x1b[A", "\x03"


class _Screen(pyte.Screen):
    def __init__(self, columns: int, lines: int, fd: int) -> None:
        super().__init__(columns, lines)
        self._fd = fd

    def write_process_input(self, data: str) -> None:  # answers DSR and similar queries
        os.write(self._fd, data.encode())


class AgentScreen:
    """``argv`` on a pty of ``columns`` x ``lines``; ``expect`` waits for text on the screen."""

    def __init__(self, argv: list[str], env: dict[str, str], cwd: Path, columns: int = 80, lines: int = 24) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # child
            try:
                os.chdir(cwd)
                os.execvpe(argv[0], argv, env)
            finally:
                os._exit(127)
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", lines, columns, 0, 0))
        self.screen = _Screen(columns, lines, self.fd)
        self.stream = pyte.ByteStream(self.screen)
        self.history: list[str] = []
        self.exit_code: int | None = None

    @property
    def text(self) -> str:
        return "\n".join(line.rstrip() for line in self.screen.display)

    def _read(self, timeout: float) -> bool:
        """Feed what the program wrote within ``timeout``; False once it has closed the terminal."""
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return True
        try:
            data = os.read(self.fd, 65536)
        except OSError:
            return False
        if not data:
            return False
        self.stream.feed(data)
        current = self.text
        if not self.history or self.history[-1] != current:
            self.history.append(current)
        return True

    def expect(self, pattern: str, timeout: float = 30.0) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        regex = re.compile(pattern)
        while True:
            match = regex.search(self.text)
            if match:
                return match
            if time.monotonic() > deadline or not self._read(0.1):
                raise AssertionError(f"{pattern!r} not on screen; screen:\n{self.text}")

    def settle(self, seconds: float = 0.5) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and self._read(0.05):
            pass

    def wait_idle(self, quiet: float = 1.5, timeout: float = 60.0) -> None:
        """Wait until the screen has not changed for ``quiet`` seconds: the agent's spinners stopped,
        its turn is over (an answer on screen may still be streaming while its spinner runs)."""
        deadline = time.monotonic() + timeout
        last, since = self.text, time.monotonic()
        while time.monotonic() < deadline:
            self._read(0.1)
            if self.text != last:
                last, since = self.text, time.monotonic()
            elif time.monotonic() - since >= quiet:
                return
        raise AssertionError(f"screen never settled; screen:\n{self.text}")

    def exit_with_ctrl_c(self, timeout: float = 60.0) -> int:
        """Quit the agent with Ctrl-C as a user does, pressing it a second time only when asked to.

        Claude Code asks for a second Ctrl-C ("Press Ctrl-C again to exit"); Codex quits on the first.
        Each key is sent only while the agent holds the terminal in raw mode (``reading_keys``): once it
        has restored the terminal on its way out, a Ctrl-C is no longer a key but SIGINT to the whole
        foreground group, lynkr included, which then exits 130 while still writing its report. (Sending a
        second Ctrl-C after a fixed 5 s wait did exactly that under load.) Call after ``wait_idle``, so
        the first Ctrl-C cannot be taken as interrupting a turn.
        """
        deadline = time.monotonic() + timeout
        hint = re.compile(r"(?i)ctrl.?c again|again to (quit|exit)")
        if self.reading_keys():
            os.write(self.fd, CTRL_C.encode())
            while self.reading_keys() and not hint.search(self.text):  # quitting, or asking again
                if time.monotonic() > deadline or not self._read(0.05):
                    break
            if self.reading_keys() and hint.search(self.text):
                os.write(self.fd, CTRL_C.encode())
        return self.wait(max(1.0, deadline - time.monotonic()))

    def reading_keys(self) -> bool:
        """Whether the program holds the terminal in raw mode (no line editing, no signal keys): a
        full-screen agent reading keys. Read from the pty's own settings, not guessed from the screen."""
        try:
            lflag = termios.tcgetattr(self.fd)[3]
        except termios.error:
            return False  # the terminal is gone
        return not lflag & (termios.ICANON | termios.ISIG)

    def type(self, *keys: str) -> None:
        for key in keys:
            os.write(self.fd, key.encode())
            self.settle(0.15)

    def ever_shown(self, pattern: str) -> list[str]:
        """Every screen that matched ``pattern`` (case-insensitive)."""
        regex = re.compile(pattern, re.I)
        return [screen for screen in self.history if regex.search(screen)]

    def wait(self, timeout: float = 30.0) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._read(0.05)
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                while self._read(0.05) and select.select([self.fd], [], [], 0)[0]:
                    pass
                os.close(self.fd)
                self.exit_code = os.waitstatus_to_exitcode(status)
                return self.exit_code
        self.kill()
        raise AssertionError(f"did not exit; screen:\n{self.text}")

    def kill(self) -> None:
        if self.exit_code is None:
            try:
                os.kill(self.pid, 9)
                os.waitpid(self.pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
            self.exit_code = -9
