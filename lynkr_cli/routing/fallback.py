"""Resilience policy: retries with backoff, a fallback chain, a circuit breaker per provider.

The router decides the policy (``FallbackPlan``: what to try after its choice, how often, how long to
wait); the proxy carries it out (``proxy/failover.py``), because only the send path knows whether a
byte has reached the client yet.

A request is first sent to the provider its route chose. On a *retryable* failure, which is a 429, a
5xx (529 "overloaded" included), a timeout or a failed connection, met before any byte reached the
client, it is retried after a delay that doubles each time (``backoff_s``, capped at ``max_backoff_s``)
or after the upstream's ``retry-after`` when it asks for longer (also capped, so one header cannot
freeze a session). When the retries are spent, the next candidate in the chain is tried: the tiers
above the routed one, then ``routing.fallback`` (e.g. local → cloud). A 4xx other than 429 is the
client's problem and is returned as is: another provider would refuse it too.

Each provider has a circuit breaker: after ``breaker_failures`` failed attempts in a row it *opens*
and for ``breaker_cooldown_s`` the provider is skipped without waiting for it to time out again; then
one request may try it (half-open) and a success closes it. A candidate with an open breaker is still
tried when it is the last one left, so a session never fails without at least one attempt.

Everything that happened is recorded: ``attempts`` (provider, model, outcome, delay) and ``failover``
(the provider that finally answered when it is not the first choice) go into ``details["route"]``.
"""

from __future__ import annotations

import email.utils
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from lynkr_cli.routing.config import RoutingConfig

RETRYABLE_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504, 520, 522, 524, 529})


@dataclass(frozen=True)
class RetryPolicy:
    retries: int = 2
    backoff_s: float = 0.5
    max_backoff_s: float = 8.0

    @classmethod
    def from_config(cls, config: "RoutingConfig") -> "RetryPolicy":
        return cls(config.retries, config.backoff_s, config.max_backoff_s)

    def delay(self, retry: int, retry_after: str | None = None) -> float:
        """Seconds before retry number ``retry`` (0-based): backoff, or longer if the upstream asks."""
        wait: float = self.backoff_s * (2 ** retry)
        asked = parse_retry_after(retry_after)
        if asked is not None:
            wait = max(wait, asked)
        return min(wait, self.max_backoff_s)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """``retry-after`` as seconds (RFC 9110: delay-seconds or an HTTP date); None when absent or bad."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None
    return max(0.0, when - (now if now is not None else time.time()))


class CircuitBreakers:
    """Per-provider breakers: closed → open after N failures in a row → half-open after the cooldown."""

    def __init__(self, failures: int = 3, cooldown_s: float = 30.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.failures = failures
        self.cooldown_s = cooldown_s
        self._clock = clock
        self._count: dict[str, int] = {}
        self._open_until: dict[str, float] = {}
        self._lock = threading.Lock()

    def is_open(self, provider: str) -> bool:
        with self._lock:
            until = self._open_until.get(provider)
            return until is not None and self._clock() < until

    def success(self, provider: str) -> None:
        with self._lock:
            self._count.pop(provider, None)
            self._open_until.pop(provider, None)

    def failure(self, provider: str) -> bool:
        """Count a failure; True when it (re)opens the breaker."""
        with self._lock:
            count = self._count.get(provider, 0) + 1
            self._count[provider] = count
            if count >= self.failures:
                self._open_until[provider] = self._clock() + self.cooldown_s
                return True
            return False

    def state(self) -> dict[str, str]:
        with self._lock:
            now = self._clock()
            return {p: ("open" if until > now else "half-open") for p, until in self._open_until.items()}


@dataclass(frozen=True)
class FallbackPlan:
    """The router's answer to "what if this model fails before answering": the ``(provider, model)``
    pairs to try next, in order, and the retry policy and breakers (shared by the proxy's requests)."""

    targets: tuple[tuple[str, str], ...]
    policy: RetryPolicy
    breakers: CircuitBreakers
