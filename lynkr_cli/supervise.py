"""Running the agent as a child so that, to the user, it behaves exactly as if started alone.

- The child inherits the terminal (stdin, stdout, stderr, process group), so TTY, colours and job
  control are the agent's own.
- Signals the terminal sends (Ctrl-C, Ctrl-\\, hang-up) already reach the child, which is in the
  terminal's foreground process group: lynkr must not send them a second time (Claude Code treats a
  second Ctrl-C as "exit"). Signals another process sends to lynkr itself (``kill``, a CI runner's
  timeout) are forwarded to the child. On Linux ``sigwaitinfo`` tells the two apart by ``si_code``;
  elsewhere, SIGINT/SIGQUIT are forwarded only when lynkr is not in a terminal's foreground.
- lynkr returns the child's exit code, or 128+N when the child died of signal N.
- On Linux the child gets SIGTERM if lynkr itself is killed, so no agent is left orphaned.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from typing import Callable

from lynkr_cli.agents.base import Launch

FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2)
_TERMINAL_SIGNALS = (signal.SIGINT, signal.SIGQUIT)
_PR_SET_PDEATHSIG = 1


def block_signals() -> None:
    """Block the forwarded signals (and SIGCHLD) in this thread and every thread started after.

    Call before starting any thread, so that only ``wait`` ever receives them.
    """
    if hasattr(signal, "sigwaitinfo"):
        signal.pthread_sigmask(signal.SIG_BLOCK, {*FORWARDED, signal.SIGCHLD})


def spawn(launch: Launch) -> subprocess.Popen[bytes]:
    """Start the child with the default signal mask and dispositions restored.

    Must be called while this process has a single thread (``preexec_fn`` runs between fork and exec).
    """
    return subprocess.Popen(
        launch.argv, env=launch.env, preexec_fn=_child_setup(), close_fds=True, restore_signals=True
    )


def _child_setup() -> Callable[[], None]:
    prctl = None
    if sys.platform.startswith("linux"):
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl

    def setup() -> None:
        signal.pthread_sigmask(signal.SIG_SETMASK, set())
        for signum in FORWARDED:
            signal.signal(signum, signal.SIG_DFL)
        if prctl is not None:
            prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
            if os.getppid() == 1:  # lynkr died before prctl took effect
                os._exit(128 + signal.SIGTERM)

    return setup


def exit_code_of(returncode: int) -> int:
    """The shell's convention: a child killed by signal N gives 128+N."""
    return 128 - returncode if returncode < 0 else returncode


def wait(child: subprocess.Popen[bytes]) -> int:
    """Wait for the child to exit, forwarding signals sent to lynkr; returns the exit code."""
    if hasattr(signal, "sigwaitinfo"):
        return _wait_sigwaitinfo(child)
    return _wait_with_handlers(child)


def _wait_sigwaitinfo(child: subprocess.Popen[bytes]) -> int:
    watched = {*FORWARDED, signal.SIGCHLD}
    while True:
        returncode = child.poll()
        if returncode is not None:
            return exit_code_of(returncode)
        info = signal.sigwaitinfo(watched)
        if info.si_signo == signal.SIGCHLD:
            continue
        # si_code <= 0: sent by a process (kill, sigqueue, tgkill). > 0: by the kernel, i.e. the terminal,
        # which has already delivered it to the child's (shared) foreground process group.
        if info.si_code <= 0 and info.si_pid != child.pid:
            _forward(child, info.si_signo)


def _wait_with_handlers(child: subprocess.Popen[bytes]) -> int:
    in_foreground = _in_terminal_foreground()

    def handler(signum: int, _frame: object) -> None:
        if signum in _TERMINAL_SIGNALS and in_foreground:
            return
        _forward(child, signum)

    previous = {signum: signal.signal(signum, handler) for signum in FORWARDED}
    try:
        return exit_code_of(child.wait())
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


def _forward(child: subprocess.Popen[bytes], signum: int) -> None:
    try:
        child.send_signal(signum)
    except ProcessLookupError:
        pass


def _in_terminal_foreground() -> bool:
    try:
        return os.tcgetpgrp(sys.stdin.fileno()) == os.getpgrp()
    except (OSError, ValueError, AttributeError):
        return False
