"""The cache's decision for each request: serve a stored answer, or let it go upstream and keep it.

Every model request the cache sees gets exactly one decision with a reason, recorded in
``record.details["cache"]`` and shown as the ``x-lynkr-cache`` header: ``hit-exact``,
``hit-semantic``, ``miss`` (the answer is stored if it completes) or ``skip`` (not cacheable, and
why). A hit also carries what it saved: the tokens and list-price dollars the stored answer cost.

All file access and embedding run on one worker thread per process, in order: a lookup queued after
a store sees it, and the event loop never waits on SQLite locks held by another lynkr process.
Failures are fail-open: a broken cache file turns into ``skip``, never into a failed request.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lynkr_cli.cache.config import DEFAULT_THRESHOLD
from lynkr_cli.cache.semantic import SemanticIndex
from lynkr_cli.cache.key import SemanticSplit, Target, exact_key, semantic_split, server_tools
from lynkr_cli.cache.render import hit_message, storable
from lynkr_cli.cache.store import CacheStore, Entry

if TYPE_CHECKING:
    from lynkr_cli.canonical import ModelRequest
    from lynkr_cli.ledger import RequestRecord
    from lynkr_cli.storage.db import Database

log = logging.getLogger("lynkr.cache")


@dataclass
class Lookup:
    """The cache's decision for one request."""

    decision: str  # hit-exact | hit-semantic | miss | skip
    reason: str
    key: str | None = None
    split: SemanticSplit | None = None
    entry: Entry | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def as_details(self) -> dict[str, Any]:
        return {"decision": self.decision, "reason": self.reason, **self.details}


def _warm_up() -> None:
    """Read the embedding model and the guard's WordNet table (~25 ms) before a semantic lookup needs them."""
    from lynkr_cli.cache.embed import load_model
    from lynkr_cli.cache.wordnet import thesaurus

    load_model()
    thesaurus()


class ResponseCache:
    """Exact (and, in ``semantic`` mode, guarded semantic) answers kept in one SQLite file."""

    enabled = True

    def __init__(self, mode: str = "exact", path: Path | None = None, ttl_seconds: float = 7 * 24 * 3600,
                 max_bytes: int = 256 << 20, threshold: float = DEFAULT_THRESHOLD, database: Database | None = None) -> None:
        self.mode = mode
        self.threshold = threshold
        self.lookups = 0  # requests looked up by this process (tests wait for their answers to be stored)
        self._recent: dict[int, tuple[Any, Target, Lookup]] = {}
        self._closed = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lynkr-cache")
        self._store_future = self._worker.submit(CacheStore, path, ttl_seconds, max_bytes, database)
        self._index: SemanticIndex | None = SemanticIndex(threshold) if mode == "semantic" else None
        if mode == "semantic":
            from lynkr_cli.cache.embed import model_available

            if model_available():  # warm up on a thread of its own: exact lookups must not wait for it
                threading.Thread(target=_warm_up, name="lynkr-embedding-load", daemon=True).start()

    @property
    def file(self) -> CacheStore:
        return self._store_future.result()

    # -- the request flow's two calls ------------------------------------------------------------
    async def lookup(self, request: ModelRequest, target: Target, record: RequestRecord) -> dict[str, Any] | None:
        """The stored answer to serve (a new message with zero usage), or None. Records the decision."""
        self._loop = asyncio.get_running_loop()
        self.lookups += 1
        lookup = self._prepare(request, target)
        self._remember(request, target, lookup)
        if lookup.key is not None:
            try:
                lookup = await self._loop.run_in_executor(self._worker, self._find, lookup)
            except Exception as exc:  # fail open: a broken cache file must not break the session
                log.warning("cache lookup failed: %s", exc)
                lookup = Lookup("skip", f"cache unavailable: {exc}")
        record.details["cache"] = lookup.as_details()
        if lookup.entry is None:
            return None
        entry = lookup.entry
        record.input_tokens = record.output_tokens = record.cache_read_tokens = record.cache_write_tokens = 0
        record.cost_usd = 0.0
        record.details["cache"].update(
            saved_input_tokens=(entry.input_tokens or 0) + (entry.cache_read_tokens or 0)
            + (entry.cache_write_tokens or 0),
            saved_output_tokens=entry.output_tokens or 0,
            saved_usd=entry.cost_usd,
        )
        return hit_message(json.loads(entry.response), request.model)

    def store(self, request: ModelRequest, target: Target, message: dict[str, Any]) -> None:
        """Keep a complete, successful upstream answer (called once the relay has finished)."""
        if not storable(message):
            return
        lookup = self._recall(request, target) or self._prepare(request, target)
        if lookup.key is None:
            return
        usage = message.get("usage") or {}
        model = message.get("model") or target.model
        entry = Entry(
            key=lookup.key,
            provider=target.provider,
            model=model,
            response=json.dumps({k: message.get(k) for k in ("model", "content", "stop_reason", "stop_sequence")},
                                ensure_ascii=False, separators=(",", ":")),
            prefix=lookup.split.prefix_key if lookup.split else None,
            question=lookup.split.question if lookup.split else None,
            input_tokens=usage.get("input_tokens"),
            output_tokens=usage.get("output_tokens"),
            cache_read_tokens=usage.get("cache_read_input_tokens"),
            cache_write_tokens=usage.get("cache_creation_input_tokens"),
            cost_usd=_cost(model, target.provider, usage),
        )
        self._worker.submit(self._put, entry)

    # -- internals --------------------------------------------------------------------------------
    def _remember(self, request: ModelRequest, target: Target, lookup: Lookup) -> None:
        """Keep a miss's keys for its store (computing them twice would double the miss overhead)."""
        if lookup.decision == "miss":
            self._recent[id(request)] = (request, target, lookup)
            while len(self._recent) > 256:  # answers that never came (errors, disconnects)
                self._recent.pop(next(iter(self._recent)))

    def _recall(self, request: ModelRequest, target: Target) -> Lookup | None:
        found = self._recent.pop(id(request), None)
        if found is not None and found[0] is request and found[1] == target:
            return found[2]
        return None

    def _prepare(self, request: ModelRequest, target: Target) -> Lookup:
        body = request.body
        tools = server_tools(body)
        if tools:
            return Lookup("skip", f"server tools with live results ({', '.join(tools[:3])})")
        choices = (request.extras or {}).get("n")
        if isinstance(choices, int) and choices > 1:
            return Lookup("skip", f"n={choices} asks for several different answers")
        lookup = Lookup("miss", "no stored answer", key=exact_key(body, target, request.extras))
        if self.mode == "semantic":  # only then: the split costs as much as the key
            split = semantic_split(body, target, request.extras)
            if isinstance(split, SemanticSplit):
                lookup.split = split
            else:
                lookup.details["semantic"] = f"not eligible: {split}"
        return lookup

    def _find(self, lookup: Lookup) -> Lookup:
        store = self.file
        assert lookup.key is not None
        entry = store.get(lookup.key)
        if entry is not None:
            lookup.decision, lookup.reason, lookup.entry = "hit-exact", "identical request", entry
            return lookup
        if self.mode == "semantic" and lookup.split is not None:
            self._find_semantic(store, lookup, lookup.split)
        return lookup

    def _find_semantic(self, store: CacheStore, lookup: Lookup, split: SemanticSplit) -> None:
        """The closest earlier question of this context the guard rails accept (``semantic.py``)."""
        assert self._index is not None
        match = self._index.find(store, split.prefix_key, split.question)
        if match.similarity is not None:
            lookup.details["similarity"] = round(match.similarity, 4)
        if match.entry is None:
            lookup.details["semantic"] = match.reason
            return
        lookup.decision, lookup.entry, lookup.reason = "hit-semantic", match.entry, match.reason

    def _put(self, entry: Entry) -> None:
        try:
            if self.mode == "semantic" and entry.question:
                from lynkr_cli.cache.embed import embed, model_available

                if model_available():
                    entry.embedding = embed(entry.question)
            self.file.put(entry)
            if self._index is not None and entry.prefix and entry.question and entry.embedding:
                self._index.learn(entry.prefix, entry.key, entry.question, entry.embedding)
        except Exception as exc:  # fail open, as above
            log.warning("cache store failed: %s", exc)

    def flush(self) -> None:
        """Wait until every answer handed over so far is written (tests, shutdown).

        A no-op turn of the proxy's event loop first: the relay hands an answer over right after
        recording it, in the same step of the loop, so after this barrier it is queued here."""
        loop = self._loop
        if loop is not None and loop.is_running() and not _running_in(loop):
            asyncio.run_coroutine_threadsafe(asyncio.sleep(0), loop).result(10)
        self._worker.submit(lambda: None).result()

    def close(self) -> None:
        """Write what is queued and close the file (the proxy's shutdown calls this: answers stored
        after the interpreter began exiting could be lost, e.g. while the embedding model loads)."""
        if self._closed:
            return
        self._closed = True
        self.flush()
        self.file.close()
        self._worker.shutdown()


def _running_in(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


def _cost(model: str | None, provider: str, usage: dict[str, Any]) -> float | None:
    from lynkr_cli.ledger.pricing import cost_usd

    return cost_usd(model, provider, usage.get("input_tokens"), usage.get("output_tokens"),
                    usage.get("cache_read_input_tokens"), usage.get("cache_creation_input_tokens"))


def build_cache(mode: str, path: Path | None = None, ttl_seconds: float = 7 * 24 * 3600, max_mb: float = 256.0,
                threshold: float = DEFAULT_THRESHOLD, database: Database | None = None) -> ResponseCache:
    """The cache for a proxy (``exact`` or ``semantic``; with the cache off the proxy keeps its
    ``NoCache``). ``database``: team storage (shared by every replica); None keeps the SQLite file."""
    if mode not in ("exact", "semantic"):
        raise ValueError(f"no response cache in mode {mode!r}")
    return ResponseCache(mode, path, ttl_seconds, int(max_mb * 1024 * 1024), threshold, database)


def cache_from_settings(config: Any, mode_override: str | None = None,
                        database: Database | None = None) -> ResponseCache:
    """The cache a ``CacheConfig`` describes; ``mode_override`` is the ``--cache`` flag."""
    return build_cache(mode_override or config.mode, None, config.ttl_seconds, config.max_mb, config.semantic_threshold,
                       database)
