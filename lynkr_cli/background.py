"""When lynkr's background CPU work may run: once the agent's first model call has been answered.

lynkr shares one interpreter lock between the proxy's event loop and its helper threads. Building the
o200k tokenizer costs ~350 ms of CPU, ~150-400 ms of it in one call that holds the lock throughout
(tiktoken's ``CoreBPE`` constructor; measured 2026-12-04 on the 2-core VM: another thread was
stopped for up to 372 ms). Started when the proxy came up, that build fell exactly when the agent
sends its first request, which then waited for it. The first request of a new session needs no
token counts (it carries no tool results yet); the next one comes after the agent has run its tools
or the user has read the answer. So the tokenizer warm-up and calibration counts wait for
``answered()`` (the proxy calls it as each request is recorded), and the housekeeping sweep for it or
three seconds. A request that does need the tokenizer before then (a resumed session) builds it
itself, as it always could.

Once answered, the work still waits a short settling time (``SETTLE_S``), and does not start at all
when the agent has exited meanwhile (``closing``): ``claude -p`` exits ~50 ms after its answer, and
the tokenizer build then held the lock while ``lynkr run`` recorded the session and exited, and
calibration's pending count (a thread pool joined at interpreter exit) made the exit wait for the
whole build: +145 ms on ``lynkr run claude -p`` (bench/RESULTS.md, "Startup"), for counts no later
request would use.

``lynkr serve`` has no agent booting next to it and opens the gate at once (``open_now``).
"""

from __future__ import annotations

import threading
import time

_answered = threading.Event()
_closing = threading.Event()
# After the first answer: time for an agent that is done (``claude -p``) to exit before any work starts.
SETTLE_S = 0.5
_answered_at = 0.0  # time.monotonic() of the first answer
# Safety net: work never waits longer than this for a first answer (a request streaming a long
# answer, an agent left at its prompt), so no thread waits forever.
MAX_WAIT_S = 60.0


def answered() -> None:
    """A model call of this process has been answered (or failed): background work may start."""
    global _answered_at
    if not _answered.is_set():
        _answered_at = time.monotonic()
        _answered.set()


def open_now() -> None:
    """No agent is starting next to the proxy: let background work run right away."""
    global _answered_at
    _answered_at = time.monotonic() - SETTLE_S
    _answered.set()


def closing() -> None:
    """The agent has exited: deferred work that has not started is no longer worth starting."""
    _closing.set()
    _answered.set()  # wakes the waiters, which then see ``_closing``


def is_closing() -> bool:
    return _closing.is_set()


def wait_for_quiet(timeout: float = MAX_WAIT_S) -> bool:
    """Block the calling (background) thread until the first answer and ``SETTLE_S`` more, or
    ``timeout``. True: go ahead with the work. False: the agent has exited (``closing``), skip it.
    """
    answered = _answered.wait(timeout)
    settle = max(0.0, _answered_at + SETTLE_S - time.monotonic()) if answered else 0.0
    return not _closing.wait(settle)
