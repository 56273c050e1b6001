"""Retries, fallback chain and circuit breakers against real local HTTP servers."""

from __future__ import annotations

import asyncio

import httpx

from lynkr_cli.proxy.failover import Candidate, send_with_fallback
from lynkr_cli.routing.fallback import CircuitBreakers, RetryPolicy, parse_retry_after
from tests.fakes.server import FakeUpstream, Reply

OK = Reply(200, {"content-type": "application/json"}, b'{"ok": true}')


def candidate(name: str, url: str) -> Candidate:
    return Candidate(name, f"{name}-model", lambda: httpx.Request("POST", url + "/v1/messages", content=b"{}"))


def run(candidates, policy=RetryPolicy(2, 0.01, 0.05), breakers=None, sleeps=None):  # type: ignore[no-untyped-def]
    breakers = breakers or CircuitBreakers(failures=3, cooldown_s=60)

    async def sleep(seconds: float) -> None:
        if sleeps is not None:
            sleeps.append(seconds)

    async def go():  # type: ignore[no-untyped-def]
        async with httpx.AsyncClient(timeout=5) as client:
            outcome = await send_with_fallback(client, candidates, policy, breakers, sleep)
            body = await outcome.response.aread() if outcome.response is not None else None
            status = outcome.response.status_code if outcome.response is not None else None
            if outcome.response is not None:
                await outcome.response.aclose()
            return outcome, status, body

    return asyncio.run(go())


def test_a_429_is_retried_honouring_retry_after_then_succeeds() -> None:
    replies = iter([Reply(429, {"retry-after": "0.04"}, b"{}"), OK])
    sleeps: list[float] = []
    with FakeUpstream(lambda r: next(replies)) as up:
        outcome, status, _ = run([candidate("a", up.url)], sleeps=sleeps)
    assert status == 200 and outcome.candidate.provider == "a"
    assert sleeps == [0.04]  # longer than the 0.01 backoff: the upstream's wish wins (below the cap)
    assert [a["outcome"] for a in outcome.attempts] == [429, 200]


def test_a_failing_provider_falls_back_along_the_chain_and_records_it() -> None:
    with FakeUpstream(lambda r: Reply(503, {}, b"overloaded")) as bad, FakeUpstream(lambda r: OK) as good:
        first = candidate("local", bad.url)
        outcome, status, body = run([first, candidate("cloud", good.url)])
        assert len(bad.received) == 3  # the first try and two retries
    assert status == 200 and body == b'{"ok": true}'
    assert outcome.details(first)["failover"] == {"from": "local:local-model", "to": "cloud:cloud-model"}


def test_connection_refused_falls_back_and_an_open_breaker_skips_the_provider() -> None:
    breakers = CircuitBreakers(failures=2, cooldown_s=60)
    dead = "http://127.0.0.1:9"  # discard port: nothing listens
    with FakeUpstream(lambda r: OK) as good:
        outcome, status, _ = run([candidate("dead", dead), candidate("good", good.url)], breakers=breakers)
        assert status == 200 and breakers.is_open("dead")
        again, status2, _ = run([candidate("dead", dead), candidate("good", good.url)], breakers=breakers)
    assert status2 == 200 and [a["provider"] for a in again.attempts] == ["good"]


def test_client_errors_are_not_retried_and_the_last_resort_is_always_tried() -> None:
    with FakeUpstream(lambda r: Reply(400, {}, b"bad request")) as up:
        outcome, status, _ = run([candidate("a", up.url), candidate("b", up.url)])
        assert status == 400 and len(up.received) == 1
    breakers = CircuitBreakers(failures=1, cooldown_s=60)
    breakers.failure("only")
    with FakeUpstream(lambda r: OK) as up:
        _, status, _ = run([candidate("only", up.url)], breakers=breakers)
    assert status == 200


def test_every_candidate_failing_returns_the_last_error_answer() -> None:
    with FakeUpstream(lambda r: Reply(500, {}, b"boom")) as up:
        outcome, status, body = run([candidate("a", up.url), candidate("b", up.url)], RetryPolicy(0, 0, 0))
    assert status == 500 and body == b"boom" and len(outcome.attempts) == 2


def test_retry_after_forms_and_the_backoff_cap() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert parse_retry_after("soon") is None
    assert RetryPolicy(5, 1.0, 4.0).delay(4) == 4.0
    assert RetryPolicy(5, 1.0, 4.0).delay(0, "3600") == 4.0
