"""Semantic cache: answers a reworded last question in an identical context, never a different one.

The labelled set (tests/cache/labelled.py: 341 pairs split once into a tuning and a test half) runs
through the real cache with the shipped embedding model: no near miss of either half may be answered,
and the test half's rewordings answered may not fall below the count measured when the rules were
frozen (README, bench/RESULTS.md). The first set written next to the old rules (tests/cache/pairs.py)
stays as a regression check.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest

from lynkr_cli.cache.key import Target
from lynkr_cli.cache.service import ResponseCache
from lynkr_cli.canonical import ModelRequest
from lynkr_cli.ledger import RequestRecord
from tests.cache import labelled
from tests.cache.conftest import Answers, settle
from tests.cache.pairs import NEAR_MISSES, PARAPHRASES
from tests.conftest import FAKE_ANTHROPIC_KEY

TARGET = Target(provider="anthropic", upstream="https://api.anthropic.com", model="claude-sonnet-4-6")
SYSTEM = "You are a coding assistant working in /home/dev/project."
HEADERS = {"x-api-key": FAKE_ANTHROPIC_KEY, "anthropic-version": "2023-06-01"}


def request(question: str, **changes: object) -> ModelRequest:
    body = {"model": "claude-sonnet-4-6", "max_tokens": 500, "system": SYSTEM,
            "messages": [{"role": "user", "content": question}], **changes}
    return ModelRequest(body=body)


def answer(text: str) -> dict:
    return {"type": "message", "model": "claude-sonnet-4-6", "content": [{"type": "text", "text": text}],
            "stop_reason": "end_turn", "usage": {"input_tokens": 50, "output_tokens": 80}}


def outcome(cache: ResponseCache, stored: str, asked: str) -> str:
    """Store an answer to ``stored``, then look ``asked`` up: the decision the cache takes.

    Each pair gets a context of its own, so earlier pairs' answers cannot interfere."""
    context = f"{SYSTEM} Pair {stored!r}."
    cache.store(request(stored, system=context), TARGET, answer(f"answer to {stored}"))
    cache.flush()
    record = RequestRecord(session_id="s", started_at=0.0, route="/v1/messages")
    asyncio.run(cache.lookup(request(asked, system=context), TARGET, record))
    return record.details["cache"]["decision"]


@pytest.fixture(scope="module")
def semantic_cache(tmp_path_factory) -> ResponseCache:
    cache = ResponseCache("semantic", tmp_path_factory.mktemp("semantic") / "cache.sqlite3")
    yield cache
    cache.close()


# Rewordings of the test half answered at the default threshold (of 85), a floor: a change that
# answers fewer fails. Measured 29 when the rules were first frozen, 27 once "existing"/"currently"
# stopped counting as light words (their stems made "exists" and "current" droppable: a wrong hit
# the one-context benchmark found on the tuning half), 29 after a general vocabulary pass, 25 after
# closing wrong answers the set does not test (swapped light words, subcommands, tools implied by
# shared words; tests/cache/test_guard.py), 28 after the threshold went to 0.6 and a vocabulary pass
# on the tuning half's misses (answer nouns, "get" as a light verb, "list of lists", "exit status",
# "test if", "turn into"). The tuning half answers 48 of 84. Still 28 with WordNet's synonyms, derived
# forms and antonyms (lynkr_cli/data/synonyms, chosen on the tuning half; one evaluation).
TEST_HALF_ANSWERED = 28


@pytest.fixture(scope="module")
def labelled_outcomes(tmp_path_factory) -> dict[str, dict]:
    cache = ResponseCache("semantic", tmp_path_factory.mktemp("labelled") / "cache.sqlite3")
    try:
        return labelled.ask_pairs(cache, labelled.load())
    finally:
        cache.close()


@pytest.mark.parametrize("half", ["tuning", "test"])
def test_no_near_miss_of_either_half_is_answered(labelled_outcomes: dict[str, dict], half: str):
    pairs = labelled.half(half)
    result = labelled.score(pairs, labelled_outcomes)
    assert result["near_misses"] >= 86
    assert result["wrong"] == []
    assert all(labelled_outcomes[p.id]["decision"] == "miss" for p in pairs if p.label == "near_miss")


def test_recall_on_the_test_half_stays_at_its_measured_floor(labelled_outcomes: dict[str, dict]):
    result = labelled.score(labelled.half("test"), labelled_outcomes)
    print(f"test half: {result['answered']} of {result['paraphrases']} rewordings answered")
    assert result["answered"] >= TEST_HALF_ANSWERED
    hits = [labelled_outcomes[p.id] for p in labelled.half("test") if labelled_outcomes[p.id]["decision"] == "hit-semantic"]
    assert all(0.6 <= hit["similarity"] <= 1.0 for hit in hits)  # each hit says how close the questions were


def test_near_misses_never_hit(semantic_cache: ResponseCache):
    wrong = [(a, b) for a, b in NEAR_MISSES if outcome(semantic_cache, a, b) != "miss"]
    assert wrong == []
    assert len(NEAR_MISSES) >= 40


def test_paraphrase_recall(semantic_cache: ResponseCache):
    hits = [outcome(semantic_cache, a, b) for a, b in PARAPHRASES]
    recall = hits.count("hit-semantic") / len(PARAPHRASES)
    print(f"semantic recall on {len(PARAPHRASES)} paraphrases: {recall:.0%}")
    assert set(hits) <= {"hit-semantic", "miss"}
    assert recall >= 0.75  # 17/22 with the old verbatim-words rule; 22/22 with word alignment


def test_semantic_hit_needs_the_same_context(semantic_cache: ResponseCache):
    question, reworded = "How do I reverse a list in Python?", "how can I reverse a list in python"
    semantic_cache.store(request(question), TARGET, answer("use reversed()"))
    semantic_cache.flush()

    def decision(asked: ModelRequest, target: Target = TARGET) -> str:
        record = RequestRecord(session_id="s", started_at=0.0, route="/v1/messages")
        asyncio.run(semantic_cache.lookup(asked, target, record))
        return record.details["cache"]["decision"]

    assert decision(request(reworded)) == "hit-semantic"
    assert decision(request(reworded, system="You are a pirate.")) == "miss"
    assert decision(request(reworded), Target("anthropic", TARGET.upstream, "claude-haiku-4-5")) == "miss"
    assert decision(request(reworded), Target("anthropic", "https://other.example", "claude-sonnet-4-6")) == "miss"
    assert decision(request(reworded, tools=[{"name": "Bash", "input_schema": {"type": "object"}}])) == "miss"
    earlier = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Hello!"},
               {"role": "user", "content": reworded}]
    assert decision(request(reworded, messages=earlier)) == "miss"


def test_tool_results_are_never_answered_by_meaning(semantic_cache: ResponseCache):
    def with_tool_result(text: str) -> ModelRequest:
        return request("", messages=[
            {"role": "user", "content": "Run the tests"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "Bash", "input": {"cmd": "pytest"}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": text}]},
        ])

    semantic_cache.store(with_tool_result("3 passed"), TARGET, answer("All tests pass."))
    semantic_cache.flush()
    record = RequestRecord(session_id="s", started_at=0.0, route="/v1/messages")
    asyncio.run(semantic_cache.lookup(with_tool_result("3 passed."), TARGET, record))
    assert record.details["cache"]["decision"] == "miss"
    assert record.details["cache"]["semantic"] == "not eligible: tool results in the last turn"


def test_semantic_hit_through_the_proxy_for_a_claude_code_shaped_turn(cached_proxy, answers: Answers):
    """Claude Code sends a system-reminder text block before the user's words; only the words vary."""
    reminder = {"type": "text", "text": "<system-reminder>\nToday's date is 2026-11-23.\n</system-reminder>\n"}

    def body(question: str) -> dict:
        return {"model": "claude-sonnet-4-6", "max_tokens": 100, "system": SYSTEM, "stream": True,
                "messages": [{"role": "user", "content": [reminder, {"type": "text", "text": question,
                                                                    "cache_control": {"type": "ephemeral"}}]}]}

    with cached_proxy("semantic") as (client, base_url, ctx):
        with client.messages.stream(**{k: v for k, v in body("What is the time complexity of quicksort?").items()
                                       if k != "stream"}) as stream:
            first = stream.get_final_message()
        settle(ctx)
        with client.messages.with_streaming_response.create(**body("what's the time complexity of quicksort")) as raw:
            header = raw.headers["x-lynkr-cache"]
        with client.messages.stream(**{k: v for k, v in body("What's the time complexity of quicksort?").items()
                                       if k != "stream"}) as stream:
            second = stream.get_final_message()
        near = httpx.post(f"{base_url}/v1/messages", headers=HEADERS,
                          json=body("What is the space complexity of quicksort?"))
    assert header == "hit-semantic"
    assert second.content[0].text == first.content[0].text == "answer number 1"
    assert (second.usage.input_tokens, second.usage.output_tokens) == (0, 0)
    assert near.headers["x-lynkr-cache"] == "miss" and answers.calls == 2


def test_the_shipped_model_loads_offline_and_embeds_in_128_dimensions(monkeypatch):
    import numpy as np

    from lynkr_cli.cache import embed

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    vector = np.frombuffer(embed.embed("How do I reverse a list?"), dtype=np.float32)
    assert vector.shape == (128,)
    assert abs(float(np.linalg.norm(vector)) - 1.0) < 1e-5
    assert embed.cosine(embed.embed("reverse a list"), embed.embed("reverse a list")) == pytest.approx(1.0)
