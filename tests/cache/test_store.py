"""The cache file: private, expiring, bounded, and shared safely by several lynkr processes."""

from __future__ import annotations

import json
import multiprocessing
import stat
import time
from pathlib import Path

from lynkr_cli.cache.store import CacheStore, Entry


def entry(key: str, text: str = "answer", **fields: object) -> Entry:
    message = {"type": "message", "content": [{"type": "text", "text": text}], "stop_reason": "end_turn"}
    return Entry(key=key, provider="anthropic", model="claude-sonnet-4-6", response=json.dumps(message),
                 **fields)  # type: ignore[arg-type]


def test_file_is_private_and_survives_reopening(tmp_path: Path):
    path = tmp_path / "lynkr" / "cache.sqlite3"
    store = CacheStore(path)
    store.put(entry("k1", output_tokens=7))
    store.close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    again = CacheStore(path)
    found = again.get("k1")
    assert found is not None and json.loads(found.response)["content"][0]["text"] == "answer"
    assert again.stats()["hits"] == 1 and again.stats()["saved_output_tokens"] == 7


def test_entries_expire_after_the_ttl(tmp_path: Path):
    store = CacheStore(tmp_path / "c.sqlite3", ttl_seconds=60)
    now = time.time()
    store.put(entry("old"), now=now - 61)
    store.put(entry("new"), now=now - 59)
    assert store.get("old", now=now) is None
    assert store.get("new", now=now) is not None


def test_size_bound_evicts_least_recently_used(tmp_path: Path):
    store = CacheStore(tmp_path / "c.sqlite3", max_bytes=12_000)
    now = time.time()
    for i in range(5):
        store.put(entry(f"k{i}", "x" * 2000), now=now + i)
    assert store.get("k0", now=now + 5) is not None  # used recently: kept
    store.put(entry("k5", "x" * 2000), now=now + 6)
    stats = store.stats(now=now + 6)
    assert stats["bytes"] <= 12_000
    assert store.get("k0", now=now + 7) is not None and store.get("k5", now=now + 7) is not None
    assert store.get("k1", now=now + 7) is None  # the least recently used went first


def test_clear_empties_the_file(tmp_path: Path):
    store = CacheStore(tmp_path / "c.sqlite3")
    store.put(entry("a"))
    store.put(entry("b"))
    assert store.clear() == 2
    assert store.stats()["entries"] == 0 and store.get("a") is None


def _writer_reader(path: str, worker: int, rounds: int, queue) -> None:  # type: ignore[no-untyped-def]
    store = CacheStore(Path(path))
    seen = 0
    for i in range(rounds):
        store.put(entry(f"w{worker}-{i}", f"from {worker}"))
        other = store.get(f"w{1 - worker}-{i}")
        if other is not None:
            assert json.loads(other.response)["content"][0]["text"] == f"from {1 - worker}"
            seen += 1
    store.close()
    queue.put(seen)


def test_two_processes_write_and_read_at_once(tmp_path: Path):
    path = str(tmp_path / "shared.sqlite3")
    CacheStore(Path(path)).close()
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    workers = [context.Process(target=_writer_reader, args=(path, n, 200, queue)) for n in (0, 1)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    assert [w.exitcode for w in workers] == [0, 0]
    assert queue.get(timeout=5) + queue.get(timeout=5) > 0  # each saw the other's answers
    assert CacheStore(Path(path)).stats()["entries"] == 400
