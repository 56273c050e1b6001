"""The semantic cache's labelled set: 341 question pairs, split once at random into two halves.

``data/pairs.jsonl`` holds 169 paraphrases (the same question reworded: a hit is welcome) and 172
near misses (questions that read alike but differ in an identifier, number, version, path, flag,
quoted string, negation, direction or in the thing asked about: a hit would be a wrong answer), in
several styles (full questions, terse search queries, non-native phrasing), each with where its
wording came from (``source``: public Q&A pages and tutorials, the issue, or written for this set).

The split was made once, before any rule, model or threshold was changed against the set, with the
seed below, and is committed in ``data/split.json`` together with the sha256 of the pairs file:
``tests/cache/test_labelled_set.py`` fails if either changes. Rules and thresholds are tuned on
the ``tuning`` half only; the ``test`` half measures what users are told (README, bench/RESULTS.md).
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
PAIRS_FILE = DATA / "pairs.jsonl"
SPLIT_FILE = DATA / "split.json"
SEED = 20261204


@dataclass(frozen=True)
class Pair:
    id: str
    label: str  # paraphrase | near_miss
    differs_in: str | None  # for a near miss: action, object, identifier, number, version, path, flag, quoted, negation, direction
    topic: str
    style: str
    stored: str  # the question whose answer is in the cache
    asked: str  # the question asked afterwards, in the same context
    source: str


def load() -> list[Pair]:
    return [Pair(**json.loads(line)) for line in PAIRS_FILE.read_text().splitlines() if line.strip()]


def make_split(pairs: list[Pair], seed: int = SEED) -> dict[str, list[str]]:
    """Half of each label to each side, chosen by ``random.Random(seed)`` over the ids in file order."""
    rng = random.Random(seed)
    halves: dict[str, list[str]] = {"tuning": [], "test": []}
    for label in ("paraphrase", "near_miss"):
        ids = [p.id for p in pairs if p.label == label]
        rng.shuffle(ids)
        halves["tuning"] += sorted(ids[: len(ids) // 2])
        halves["test"] += sorted(ids[len(ids) // 2 :])
    return halves


def pairs_digest() -> str:
    return hashlib.sha256(PAIRS_FILE.read_bytes()).hexdigest()


def half(name: str) -> list[Pair]:
    """The pairs of the committed ``tuning`` or ``test`` half."""
    wanted = set(json.loads(SPLIT_FILE.read_text())[name])
    return [p for p in load() if p.id in wanted]


if __name__ == "__main__":  # how split.json was written (once)
    split = make_split(load())
    SPLIT_FILE.write_text(json.dumps({
        "seed": SEED,
        "method": "tests/cache/labelled.py make_split: per label, random.Random(seed).shuffle of the ids in file "
                  "order; the first half (rounded down) is the tuning half",
        "pairs_sha256": pairs_digest(),
        **split,
    }, indent=1) + "\n")
    print({k: len(v) for k, v in split.items()})


def ask_pairs(cache, pairs: list[Pair]) -> dict[str, dict]:  # type: ignore[no-untyped-def]
    """Each pair through the real cache: its stored question's answer is kept, then its asked question
    is looked up, in a context of the pair's own (so pairs cannot answer each other). Returns each
    pair's ``details["cache"]`` by id."""
    import asyncio

    from lynkr_cli.cache.key import Target
    from lynkr_cli.canonical import ModelRequest
    from lynkr_cli.ledger import RequestRecord

    target = Target(provider="anthropic", upstream="https://api.anthropic.com", model="claude-sonnet-4-6")

    def request(question: str, pair: Pair) -> ModelRequest:
        return ModelRequest(body={"model": "claude-sonnet-4-6", "max_tokens": 500,
                                  "system": f"You are a coding assistant. Conversation {pair.id}.",
                                  "messages": [{"role": "user", "content": question}]})

    for pair in pairs:
        cache.store(request(pair.stored, pair), target, {
            "type": "message", "model": "claude-sonnet-4-6", "stop_reason": "end_turn",
            "content": [{"type": "text", "text": f"answer to {pair.id}"}], "usage": {"input_tokens": 9, "output_tokens": 9}})
    cache.flush()

    async def lookups() -> dict[str, dict]:
        found = {}
        for pair in pairs:
            record = RequestRecord(session_id="s", started_at=0.0, route="/v1/messages")
            await cache.lookup(request(pair.asked, pair), target, record)
            found[pair.id] = record.details["cache"]
        return found

    return asyncio.run(lookups())


def score(pairs: list[Pair], decisions: dict[str, dict]) -> dict[str, object]:
    """Recall on the paraphrases and the near misses answered (wrong hits)."""
    paraphrases = [p for p in pairs if p.label == "paraphrase"]
    near = [p for p in pairs if p.label == "near_miss"]
    return {"paraphrases": len(paraphrases), "answered": sum(decisions[p.id]["decision"] == "hit-semantic" for p in paraphrases),
            "near_misses": len(near), "wrong": [p.id for p in near if decisions[p.id]["decision"] != "miss"]}
