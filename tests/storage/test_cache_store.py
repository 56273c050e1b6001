"""The response cache's entries on either engine; on PostgreSQL, shared by every replica."""

from __future__ import annotations

import json
import time
from pathlib import Path

from lynkr_cli.cache.store import CacheStore, Entry
from lynkr_cli.storage import CACHE, Storage


def entry(key: str, text: str = "answer", **fields: object) -> Entry:
    message = {"type": "message", "content": [{"type": "text", "text": text}], "stop_reason": "end_turn"}
    return Entry(key=key, provider="anthropic", model="claude-sonnet-4-6", response=json.dumps(message),
                 **fields)  # type: ignore[arg-type]


def store_on(storage: Storage, **kw: object) -> CacheStore:
    if storage.shared:
        return CacheStore(database=storage.database(CACHE), **kw)  # type: ignore[arg-type]
    return CacheStore(storage.path_of(CACHE), **kw)  # type: ignore[arg-type]


def test_round_trip_expiry_eviction_and_stats(storage: Storage):
    store = store_on(storage, ttl_seconds=60, max_bytes=12_000)
    now = time.time()
    store.put(entry("old", embedding=b"\x01\x02"), now=now - 61)
    for i in range(5):
        store.put(entry(f"k{i}", "x" * 2000, output_tokens=7, cost_usd=0.01, prefix="p", question=f"q{i}"), now=now + i)
    assert store.get("old", now=now) is None
    found = store.get("k0", now=now + 5)
    assert found is not None and found.output_tokens == 7
    assert [e.key for e in store.candidates("p", now=now + 5)] == ["k4", "k3", "k2", "k1", "k0"]
    for i in range(5, 8):
        store.put(entry(f"k{i}", "x" * 2000), now=now + i + 1)
    stats = store.stats(now=now + 9)
    assert stats["bytes"] <= 12_000 or storage.shared  # shared: checked every few stores
    assert stats["hits"] >= 1 and abs(stats["saved_usd"] - 0.01) < 1e-9 and stats["saved_output_tokens"] == 7
    assert isinstance(stats["entries"], int) and stats["file_bytes"] > 0
    assert store.clear() == stats["entries"] and store.stats()["entries"] == 0
    store.close()


def test_an_answer_stored_by_one_replica_is_served_by_another(pg_url: str, tmp_path: Path):
    first, second = Storage(pg_url, home=tmp_path / "a"), Storage(pg_url, home=tmp_path / "b")
    try:
        a, b = store_on(first), store_on(second)
        a.put(entry("shared-key", "from replica a", embedding=b"\x00\xff" * 4, prefix="ctx", question="why?"))
        got = b.get("shared-key")
        assert got is not None and json.loads(got.response)["content"][0]["text"] == "from replica a"
        assert got.embedding == b"\x00\xff" * 4
        assert [e.key for e in b.candidates("ctx")] == ["shared-key"]
        assert a.stats()["hits"] == 1  # b's hit is counted where a sees it
    finally:
        first.close()
        second.close()


def test_lynkr_cache_stats_and_clear_on_the_team_database(pg_url: str, tmp_path: Path):
    from tests.conftest import base_env, run_lynkr

    storage = Storage(pg_url, home=tmp_path)
    store_on(storage).put(entry("k1", output_tokens=7))
    storage.close()
    env = base_env(tmp_path / "home", LYNKR_STORAGE__URL=pg_url)
    stats = run_lynkr(["cache", "stats", "--json"], env)
    assert stats.returncode == 0, stats.stderr
    assert json.loads(stats.stdout)["entries"] == 1 and "@127.0.0.1" in json.loads(stats.stdout)["path"]
    cleared = run_lynkr(["cache", "clear"], env)
    assert cleared.returncode == 0 and "removed 1 answer" in cleared.stdout
    assert not (tmp_path / "home" / "cache.sqlite3").exists()


def test_a_semantic_answer_stored_by_one_replica_answers_a_rewording_on_another(pg_url: str, tmp_path: Path):
    """The scoping rules hold on the shared table: the same context hits, another context misses."""
    import asyncio

    from lynkr_cli.cache.key import Target
    from lynkr_cli.cache.service import ResponseCache
    from lynkr_cli.canonical import ModelRequest
    from lynkr_cli.ledger import RequestRecord

    target = Target(provider="anthropic", upstream="https://api.anthropic.com", model="claude-sonnet-4-6")

    def request(question: str, system: str = "You are a coding assistant.") -> ModelRequest:
        return ModelRequest(body={"model": "claude-sonnet-4-6", "max_tokens": 500, "system": system,
                                  "messages": [{"role": "user", "content": question}]})

    first, second = Storage(pg_url, home=tmp_path / "a"), Storage(pg_url, home=tmp_path / "b")
    a = ResponseCache("semantic", database=first.database(CACHE))
    b = ResponseCache("semantic", database=second.database(CACHE))
    try:
        a.store(request("How do I reverse a list in Python?"), target, {
            "type": "message", "model": "claude-sonnet-4-6", "content": [{"type": "text", "text": "use reversed()"}],
            "stop_reason": "end_turn", "usage": {"input_tokens": 50, "output_tokens": 80}})
        a.flush()

        def decision(asked: ModelRequest) -> str:
            record = RequestRecord(session_id="s", started_at=0.0, route="/v1/messages")
            asyncio.run(b.lookup(asked, target, record))
            return str(record.details["cache"]["decision"])

        assert decision(request("how can I reverse a list in python")) == "hit-semantic"
        assert decision(request("how can I reverse a list in python", system="You are a pirate.")) == "miss"
    finally:
        a.close()
        b.close()
        first.close()
        second.close()
