"""Resilience in the send path: retries with backoff, a fallback chain, a circuit breaker per provider.

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

import asyncio
import email.utils
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Awaitable, Callable

if TYPE_CHECKING:
    import httpx

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


@dataclass
class Candidate:
    """One provider:model that may answer, with how to build its HTTP request (fresh for each try).

    ``context`` is whatever the send path needs once this candidate answered (its scanner, translator…).
    """

    provider: str
    model: str
    build: Callable[[], "httpx.Request"]
    context: Any = None


@dataclass
class Outcome:
    response: "httpx.Response | None"
    candidate: Candidate
    attempts: list[dict[str, Any]] = field(default_factory=list)
    error: BaseException | None = None

    @property
    def failed_over(self) -> bool:
        return any(a["provider"] != self.candidate.provider or a["model"] != self.candidate.model
                   for a in self.attempts)

    def details(self, first: Candidate) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if len(self.attempts) > 1:
            out["attempts"] = self.attempts
        if self.candidate is not first:
            out["failover"] = {"from": f"{first.provider}:{first.model}",
                               "to": f"{self.candidate.provider}:{self.candidate.model}"}
        return out


Sleep = Callable[[float], Awaitable[None]]


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


async def send_with_fallback(
    client: "httpx.AsyncClient",
    candidates: list[Candidate],
    policy: RetryPolicy,
    breakers: CircuitBreakers,
    sleep: Sleep = asyncio.sleep,
) -> Outcome:
    """Open a streamed response from the first candidate that answers usefully.

    Returns the response to relay (a success, or the last error answer when every candidate failed
    with one); ``error`` is set instead when the last attempt raised (timeout, connection refused).
    Retryable error answers are read and closed before the next try, so connections are not leaked.
    """
    import httpx

    assert candidates, "no candidate to send to"
    attempts: list[dict[str, Any]] = []
    last: Outcome | None = None
    usable = [c for c in candidates if not breakers.is_open(c.provider)] or candidates[-1:]
    for index, candidate in enumerate(usable):
        final_candidate = index == len(usable) - 1
        for retry in range(policy.retries + 1):
            final_try = final_candidate and retry == policy.retries
            note: dict[str, Any] = {"provider": candidate.provider, "model": candidate.model}
            attempts.append(note)
            try:
                response = await client.send(candidate.build(), stream=True)
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                note["outcome"] = _describe(exc)
                breakers.failure(candidate.provider)
                last = Outcome(None, candidate, attempts, exc)
                if final_try:
                    return last
                retry_after = None
            else:
                if response.status_code not in RETRYABLE_STATUS:
                    note["outcome"] = response.status_code
                    if response.status_code < 500:
                        breakers.success(candidate.provider)
                    return Outcome(response, candidate, attempts)
                note["outcome"] = response.status_code
                breakers.failure(candidate.provider)
                if final_try:
                    return Outcome(response, candidate, attempts)
                retry_after = response.headers.get("retry-after")
                await response.aread()
                await response.aclose()
                last = Outcome(None, candidate, attempts)
            if retry == policy.retries or (breakers.is_open(candidate.provider) and not final_candidate):
                break  # retries spent, or its breaker opened: on to the next candidate
            wait = policy.delay(retry, retry_after)
            note["retry_in_s"] = round(wait, 3)
            await sleep(wait)
    assert last is not None
    return last
