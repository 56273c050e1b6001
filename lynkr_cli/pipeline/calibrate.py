"""Calibration samples, counted off the request path.

Savings are counted in o200k tokens; the provider bills in its own. On a few requests per session
(the first two, then one in 50) the whole forwarded request is counted in o200k (about 40 ms for a 100 KB Claude Code body,
so in a background thread, never while the client waits). Once that count is ready and the
request's usage has arrived, the pair (provider's billed input, o200k count) is attached to the next
request the session sends, under ``details["pipeline"]["calibration"]``; the report divides the sums.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:
    from lynkr_cli.ledger import RequestRecord

_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lynkr-calibrate")
        return _executor


def _count(body: Mapping[str, Any]) -> int:
    from lynkr_cli import background
    from lynkr_cli.tokens import count_request

    if not background.wait_for_quiet():
        # The agent has exited: no later request will carry this sample, and the executor's thread is
        # joined at interpreter exit, so counting now would hold up lynkr's own exit.
        raise CalibrationSkipped
    return count_request(body)


class CalibrationSkipped(Exception):
    """A sample not counted because the session ended first (``ready`` drops it)."""


@dataclass
class Calibration:
    """The pending samples of one session."""

    pending: list[tuple["RequestRecord", "Future[int]"]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self, record: "RequestRecord", body: Mapping[str, Any]) -> None:
        future = _pool().submit(_count, body)
        with self.lock:
            self.pending.append((record, future))

    def ready(self) -> list[dict[str, int]]:
        """Samples whose count is done and whose request has finished (taken out of ``pending``)."""
        samples, keep = [], []
        with self.lock:
            for record, future in self.pending:
                finished = record.latency_ms is not None
                if not finished or not future.done():
                    keep.append((record, future))
                    continue
                if record.input_tokens is None or future.exception() is not None:
                    continue  # the request failed or carried no usage: nothing to compare
                billed = record.input_tokens + (record.cache_read_tokens or 0) + (record.cache_write_tokens or 0)
                samples.append({"billed": billed, "o200k": future.result()})
            self.pending = keep
        return samples

    def wait(self, timeout: float = 10.0) -> None:
        """Block until every pending count is done (tests, benchmarks)."""
        with self.lock:
            futures = [f for _, f in self.pending]
        for future in futures:
            future.exception(timeout=timeout)
