"""The in-memory index of stored questions: it learns this process's answers at once, other
processes' answers at its next re-read, and never serves an answer that left the file."""

from __future__ import annotations

from pathlib import Path

from lynkr_cli.cache.embed import embed
from lynkr_cli.cache.semantic import REFRESH_SECONDS, SemanticIndex
from lynkr_cli.cache.store import CacheStore, Entry

PREFIX = "context-1"


def entry(key: str, question: str) -> Entry:
    return Entry(key=key, provider="anthropic", model="m", response='{"content": []}', prefix=PREFIX,
                 question=question, embedding=embed(question))


def test_own_answers_at_once_others_after_a_reread_and_never_a_removed_one(tmp_path: Path):
    mine, theirs = CacheStore(tmp_path / "cache.sqlite3"), CacheStore(tmp_path / "cache.sqlite3")
    now = [1000.0]
    index = SemanticIndex(0.7, clock=lambda: now[0])
    asked = "python: combine two dictionaries"
    assert index.find(mine, PREFIX, asked).reason == "no earlier question in this context"

    stored = entry("k1", "How do I merge two dicts in Python?")  # this process stores: known at once
    mine.put(stored)
    index.learn(PREFIX, stored.key, stored.question or "", stored.embedding or b"")
    match = index.find(mine, PREFIX, asked)
    assert match.entry is not None and match.entry.key == "k1" and match.similarity is not None

    mine.clear()  # evicted (or expired): never served, even though the index still held it
    assert index.find(mine, PREFIX, asked).entry is None

    theirs.put(entry("k2", "How do I merge two dictionaries in Python?"))  # another session's answer
    assert index.find(mine, PREFIX, asked).entry is None  # not re-read yet
    now[0] += REFRESH_SECONDS + 1
    match = index.find(mine, PREFIX, asked)
    assert match.entry is not None and match.entry.key == "k2"
    near = index.find(mine, PREFIX, "How do I merge two lists in Python?")
    assert near.entry is None and near.reason.startswith("guard rails: ")
    mine.close(), theirs.close()
