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

``lynkr serve`` has no agent booting next to it and opens the gate at once (``open_now``).
"""

from __future__ import annotations

import threading

_answered = threading.Event()
# Safety net: work never waits longer than this for a first answer (a request streaming a long
# answer, an agent left at its prompt), so no thread waits forever.
MAX_WAIT_S = 60.0


def answered() -> None:
    """A model call of this process has been answered (or failed): background work may start."""
    _answered.set()


def open_now() -> None:
    """No agent is starting next to the proxy: let background work run right away."""
    _answered.set()


def wait_for_quiet(timeout: float = MAX_WAIT_S) -> bool:
    """Block the calling (background) thread until the first answer; False if it timed out."""
    return _answered.wait(timeout)
