"""The scorer against the labelled sets, and the properties users rely on (deterministic, explained)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lynkr_cli.routing.router import Router
from lynkr_cli.routing.score import WEIGHTS, score
from lynkr_cli.routing.features import extract
from lynkr_cli.routing.tiers import Tier

BENCH = Path(__file__).resolve().parent.parent.parent / "bench"


def rows(name: str) -> list[dict]:
    return [json.loads(line) for line in (BENCH / name).read_text().splitlines() if line.strip()]


def body(row: dict) -> dict:
    return {"model": "claude-sonnet-4-5", "max_tokens": 4096,
            "messages": row.get("messages") or [{"role": "user", "content": row["prompt"]}]}


def test_labelled_set_covers_the_four_tiers_and_lynkr_benchmark_prompts() -> None:
    labelled = rows("routing_set.jsonl")
    assert len(labelled) >= 60
    assert {r["tier"] for r in labelled} == {"simple", "medium", "complex", "reasoning"}
    prompts = {r.get("prompt") for r in labelled}
    assert "What does git stash do?" in prompts
    assert any("JWT tokens in localStorage" in (p or "") for p in prompts)


@pytest.mark.parametrize("name", ["routing_set.jsonl", "routing_holdout.jsonl", "routing_holdout2.jsonl"])
def test_no_complex_or_reasoning_prompt_routes_to_simple(name: str) -> None:
    router = Router()
    wrong = [r.get("prompt") or r["messages"][-1]["content"] for r in rows(name)
             if Tier.parse(r["tier"]) >= Tier.COMPLEX and router.classify(body(r)).tier is Tier.SIMPLE]
    assert wrong == []


def test_labelled_set_accuracy_stays_high() -> None:
    router = Router()
    labelled = rows("routing_set.jsonl")
    correct = sum(router.classify(body(r)).tier is Tier.parse(r["tier"]) for r in labelled)
    assert correct / len(labelled) >= 0.9


def test_score_is_deterministic_and_its_breakdown_adds_up() -> None:
    text = "Refactor the payment module across all services; first extract the client, then add tests."
    features = extract({"messages": [{"role": "user", "content": text}]})
    first, second = score(features), score(features)
    assert first == second
    assert first.total == pytest.approx(sum(p.points for p in first.parts), abs=0.2)
    assert {p.dimension for p in first.parts} <= {d.name for d in WEIGHTS}


def test_claude_code_reminders_are_not_the_users_words() -> None:
    reminder = "<system-reminder>\nsecurity architecture migration analyse trade-offs step by step\n</system-reminder>"
    request = {"messages": [{"role": "user", "content": [{"type": "text", "text": reminder},
                                                          {"type": "text", "text": "what does git stash do?"}]}]}
    assert Router().classify(request).tier is Tier.SIMPLE


def test_codex_environment_context_is_not_the_users_words() -> None:
    """Codex 0.169 sends <environment_context> as a user message before the prompt (captured session)."""
    from lynkr_cli.formats import codec

    data = Path(__file__).resolve().parent.parent / "data" / "codex_session" / "01.json"
    raw = data.read_bytes()
    request = codec("openai-responses").decode_request(json.loads(raw), raw)
    c = Router().classify(request.body, request.extras, len(raw))
    assert c.features.text == "Why does the rate-limit test fail? Look at the project."
    assert c.features.user_turns == 1
