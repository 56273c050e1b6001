"""Carrying out the router's fallback plan for one relay: retries, failover, and reading the answer of
whichever model answered.

The router decides what to try and how often (``routing/fallback.py``: ``FallbackPlan``, the retry
policy, the circuit breakers); this module sends. On a *retryable* failure (429, 5xx, a timeout, a
failed connection) met before any byte reached the client, the same model is tried again after the
policy's delay, then the next target; a 4xx other than 429 is the client's problem and is returned as
is. A candidate whose breaker is open is skipped unless it is the last one left, so a session never
fails without at least one attempt. ``attempts`` and ``failover`` go into ``details["route"]``.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Mapping

import httpx

from lynkr_cli.callers import require_own_key
from lynkr_cli.errors import LynkrError
from lynkr_cli.proxy.answers import Readers, readers_for
from lynkr_cli.routing.fallback import RETRYABLE_STATUS, CircuitBreakers, FallbackPlan, RetryPolicy

if TYPE_CHECKING:
    from lynkr_cli.canonical import ModelRequest
    from lynkr_cli.ledger import RequestRecord
    from lynkr_cli.providers.base import HttpProvider, UpstreamCall
    from lynkr_cli.proxy.context import ProxyContext
    from lynkr_cli.proxy.upstream import UpstreamClient
    from lynkr_cli.routing.decision import RouteDecision

log = logging.getLogger("lynkr.proxy")


@dataclass(frozen=True)
class Switch:
    """What changes when a fallback candidate answers: who answered, and how to read its answer."""

    provider: HttpProvider
    call: UpstreamCall
    decision: RouteDecision


@dataclass
class Candidate:
    """One provider:model that may answer, with how to build its HTTP request (fresh for each try).

    ``answer``: how to read this candidate's answer once it answered, None for the first choice (the
    relay already reads for it).
    """

    provider: str
    model: str
    build: Callable[[], httpx.Request]
    answer: Switch | None = None


@dataclass
class Outcome:
    response: httpx.Response | None
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
    client: UpstreamClient,
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


class Failover:
    """One relay's plan: the candidates in order; reports which one answered and how to read it."""

    def __init__(self, ctx: ProxyContext, candidates: list[Candidate], plan: FallbackPlan, request: ModelRequest,
                 record: RequestRecord) -> None:
        self.ctx = ctx
        self.candidates = candidates
        self.plan = plan
        self.request = request
        self.record = record

    @classmethod
    def for_call(cls, ctx: ProxyContext, decision: RouteDecision, first: httpx.Request, request: ModelRequest,
                 client_headers: Mapping[str, str], query: str, record: RequestRecord) -> Failover | None:
        """The plan for a call already built for ``decision``; None when the router has no fallback."""
        plan = ctx.router.fallbacks(decision)
        if plan is None:
            return None
        client = ctx.client
        assert client is not None, "proxy client not started"
        candidates = [Candidate(decision.provider, decision.model, lambda: _copy(client, first))]
        skipped = []
        for provider_id, model in plan.targets:
            try:
                provider = ctx.provider_set().get(provider_id)
                call = provider.build_call(request, model, client_headers, query)
                require_own_key(call.headers, client_headers)  # serve --no-token (proxy/auth.py)
            except LynkrError as exc:  # not configured (no key, no URL): cannot be a fallback
                skipped.append(f"{provider_id}:{model}: {exc}")
                continue
            except Exception as exc:  # a request its format cannot carry (parts of the wrong type) either
                skipped.append(f"{provider_id}:{model}: the request could not be translated ({type(exc).__name__}: {exc})")
                continue
            switch = Switch(provider, call, decision.moved_to(provider_id, model))
            candidates.append(Candidate(provider_id, model, _builder(client, call), switch))
        if skipped:
            record.details.setdefault("route", {})["fallback_skipped"] = skipped
        return cls(ctx, candidates, plan, request, record)

    async def open(self, client: UpstreamClient) -> tuple[Outcome, Switch | None]:
        """The outcome of sending, and the switch to make when another candidate answered."""
        outcome = await send_with_fallback(client, self.candidates, self.plan.policy, self.plan.breakers)
        self.record.details.setdefault("route", {}).update(outcome.details(self.candidates[0]))
        switch = outcome.candidate.answer
        if switch is not None:
            log.info("failed over to %s:%s", switch.decision.provider, switch.decision.model)
            self._record_switch(switch)
        return outcome, switch

    def readers(self, switch: Switch) -> Readers:
        return readers_for(switch.provider, switch.call, self.request, self.ctx.cache.enabled)

    def _record_switch(self, switch: Switch) -> None:
        record, call = self.record, switch.call
        record.provider, record.model_used = switch.decision.provider, switch.decision.model
        record.details["provider"] = {"id": switch.decision.provider, "model": switch.decision.model,
                                      "wire": call.wire_format, "translated": call.wire_format != self.request.inbound,
                                      "original_bytes": call.body is self.request.raw}


def _copy(client: UpstreamClient, request: httpx.Request) -> httpx.Request:
    return client.build_request(request.method, request.url, headers=request.headers, content=request.content)


def _builder(client: UpstreamClient, call: UpstreamCall) -> Callable[[], httpx.Request]:
    def build() -> httpx.Request:
        return client.build_request(call.method, call.url, headers=call.headers, content=call.body)

    return build
