"""The router inside the real proxy: headers, ledger details, budget refusals, failover, via the SDK."""

from __future__ import annotations

import time

import anthropic
import pytest

from lynkr_cli.routing.budget import Budget
from lynkr_cli.routing.config import RoutingConfig
from lynkr_cli.routing.proxy import TierRouter
from lynkr_cli.routing.router import Router
from lynkr_cli.routing.tiers import TierMap
from tests.conftest import FAKE_ANTHROPIC_KEY, running_proxy
from tests.fakes.anthropic import Turn, messages_handler, reply_for
from tests.fakes.server import FakeUpstream, Received, Reply

HARD = "Analyse the security trade-offs of our session handling step by step."


def answering(name: str):  # type: ignore[no-untyped-def]
    return messages_handler(lambda request, body: reply_for(Turn(text=f"from {name}", input_tokens=1000,
                                                                 output_tokens=100), request))


def proxy(cheap: FakeUpstream, strong: FakeUpstream, tmp_path, config=None, budget=None):  # type: ignore[no-untyped-def]
    from lynkr_cli.providers.base import ProviderSet

    tiers = TierMap.from_strings({"simple": "anthropic:claude-haiku-4-5", "reasoning": "azure-anthropic:claude-opus-4-5"})
    router = TierRouter(Router(tiers, config or RoutingConfig(backoff_s=0.01), budget))
    provider_set = ProviderSet({"AZURE_ANTHROPIC_ENDPOINT": strong.url, "AZURE_ANTHROPIC_API_KEY": "k"},
                               {"anthropic": {"base_url": cheap.url}})
    listeners = [router.observe]
    return running_proxy(cheap.url, tmp_path / "ledger.sqlite3", router=router, providers=provider_set,
                         listeners=listeners)


def ledger_requests(tmp_path) -> list[dict]:  # type: ignore[no-untyped-def]
    """Read after the proxy stopped: a row is written once the response has fully ended."""
    from lynkr_cli.ledger import LedgerReader

    reader = LedgerReader(tmp_path / "ledger.sqlite3")
    try:
        return reader.requests("test-session")
    finally:
        reader.close()


def client(base_url: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=base_url, api_key=FAKE_ANTHROPIC_KEY, max_retries=0)


def ask(c: anthropic.Anthropic, text: str):  # type: ignore[no-untyped-def]
    return c.messages.with_raw_response.create(model="claude-opus-4-8", max_tokens=100,
                                               messages=[{"role": "user", "content": text}])


def test_routed_requests_carry_headers_and_ledger_details(tmp_path) -> None:
    with FakeUpstream(answering("cheap")) as cheap, FakeUpstream(answering("strong")) as strong:
        with proxy(cheap, strong, tmp_path) as (base_url, ctx, ledger):
            easy = ask(client(base_url), "what does git stash do?")
            hard = ask(client(base_url), HARD)
    rows = ledger_requests(tmp_path)
    assert easy.headers["x-lynkr-tier"] == "SIMPLE" and easy.headers["x-lynkr-model"] == "claude-haiku-4-5"
    assert hard.headers["x-lynkr-tier"] == "REASONING" and hard.headers["x-lynkr-model"] == "claude-opus-4-5"
    assert easy.parse().content[0].text == "from cheap" and hard.parse().content[0].text == "from strong"
    routes = [r["details"]["route"] for r in rows]
    assert [(r["tier"], r["provider"], r["model"]) for r in routes] == [
        ("SIMPLE", "anthropic", "claude-haiku-4-5"), ("REASONING", "azure-anthropic", "claude-opus-4-5")]
    assert all(r["reason"] and isinstance(r["score"], (int, float)) for r in routes)


def test_a_spent_budget_stops_with_an_anthropic_error(tmp_path) -> None:
    budget = Budget(session_usd=0.000001, action="stop")
    with FakeUpstream(answering("cheap")) as cheap, FakeUpstream(answering("strong")) as strong:
        with proxy(cheap, strong, tmp_path, budget=budget) as (base_url, ctx, ledger):
            ask(client(base_url), HARD)  # spends more than the limit
            deadline = time.monotonic() + 10
            while budget.spent_session == 0 and time.monotonic() < deadline:  # recorded when the body ended
                time.sleep(0.01)
            with pytest.raises(anthropic.BadRequestError) as refused:
                ask(client(base_url), HARD)
            assert len(strong.received) == 1
    assert "session budget of $0.00 reached" in str(refused.value)


def test_failover_to_the_next_tier_is_recorded(tmp_path) -> None:
    def down(request: Received, body: dict) -> Reply:
        return Reply(503, {"content-type": "application/json"}, b'{"type":"error","error":{"type":"api_error","message":"down"}}')

    with FakeUpstream(messages_handler(down)) as cheap, FakeUpstream(answering("strong")) as strong:
        with proxy(cheap, strong, tmp_path, RoutingConfig(retries=1, backoff_s=0.01)) as (base_url, ctx, ledger):
            answer = ask(client(base_url), "what does git stash do?")
        assert len(cheap.received) == 2
    row = ledger_requests(tmp_path)[0]
    assert answer.parse().content[0].text == "from strong"
    assert row["status"] == 200 and row["provider"] == "azure-anthropic" and row["model_used"] == "claude-opus-4-5"
    assert row["details"]["route"]["failover"] == {"from": "anthropic:claude-haiku-4-5",
                                                   "to": "azure-anthropic:claude-opus-4-5"}


@pytest.mark.parametrize("stream", [False, True])
def test_failover_across_wire_formats_translates_the_answer(tmp_path, stream: bool) -> None:
    """A local OpenAI-compatible tier down: the Anthropic tier answers, and vice versa, each in the
    client's own format (the relay's translator follows the provider that answered)."""
    from lynkr_cli.providers.base import ProviderSet
    from tests.fakes.openai import openai_error, openai_handler

    def down(request: Received, body: dict) -> Reply:
        return Reply(503, {"content-type": "application/json"}, b'{"type":"error","error":{"type":"api_error","message":"down"}}')

    cases = [
        (openai_handler(lambda r, b: openai_error(503, "down", "server_error")), answering("anthropic"), "from anthropic",
         {"simple": "openai-compatible:qwen-local", "reasoning": "anthropic:claude-opus-4-5"}),
        (messages_handler(down), openai_handler(lambda r, b: Turn(text="from openai")), "from openai",
         {"simple": "anthropic:claude-haiku-4-5", "reasoning": "openai-compatible:gpt-big"}),
    ]
    for index, (first, second, expected, tiers) in enumerate(cases):
        with FakeUpstream(first) as a, FakeUpstream(second) as b:
            urls = {"openai-compatible": a.url if tiers["simple"].startswith("openai") else b.url,
                    "anthropic": a.url if tiers["simple"].startswith("anthropic") else b.url}
            router = TierRouter(Router(TierMap.from_strings(tiers), RoutingConfig(retries=0)))
            provider_set = ProviderSet({}, {"anthropic": {"base_url": urls["anthropic"]},
                                            "openai-compatible": {"base_url": urls["openai-compatible"] + "/v1"}})
            with running_proxy(urls["anthropic"], tmp_path / f"l{index}.sqlite3", router=router,
                               providers=provider_set) as (base_url, ctx, ledger):
                c = client(base_url)
                if stream:
                    with c.messages.stream(model="claude-opus-4-8", max_tokens=100,
                                           messages=[{"role": "user", "content": "what does git stash do?"}]) as s:
                        text = s.get_final_text()
                else:
                    text = ask(c, "what does git stash do?").parse().content[0].text
            assert text == expected, (index, text)
            assert len(a.received) == 1 and len(b.received) == 1


def test_a_cached_answer_carries_the_route_headers_too(tmp_path) -> None:
    from lynkr_cli.cache.service import build_cache
    from lynkr_cli.providers.base import ProviderSet

    with FakeUpstream(answering("cheap")) as cheap:
        tiers = TierMap.from_strings({"simple": "anthropic:claude-haiku-4-5", "reasoning": "azure-anthropic:claude-opus-4-5"})
        cache = build_cache("exact", tmp_path / "cache.sqlite3")
        provider_set = ProviderSet({}, {"anthropic": {"base_url": cheap.url}})
        with running_proxy(cheap.url, tmp_path / "ledger.sqlite3", router=TierRouter(Router(tiers)),
                           providers=provider_set, cache=cache) as (base_url, ctx, ledger):
            first = ask(client(base_url), "what does git stash do?")
            hit = None
            for _ in range(20):  # the answer is stored once its stream ended, just after the client got it
                time.sleep(0.05)
                sent = len(cheap.received)
                again = ask(client(base_url), "what does git stash do?")
                if len(cheap.received) == sent:
                    hit = again
                    break
        cache.close()
    assert first.headers["x-lynkr-tier"] == "SIMPLE"
    assert hit is not None, "the repeated request was never served from the cache"
    assert hit.parse().content[0].text == "from cheap"
    assert hit.headers["x-lynkr-tier"] == "SIMPLE" and hit.headers["x-lynkr-model"] == "claude-haiku-4-5"
