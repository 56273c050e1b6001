"""Semantic matching: the closest earlier question of the same context that the guard rails accept.

Each process keeps the stored questions of the contexts it looks up in memory, their embeddings in one
matrix (``SemanticIndex``): a lookup is one matrix product, then the guard rails on the closest few
above the threshold, and the file is read only for the answer it serves. Why: reading the newest 256
of 10,000 answers stored in one context took 82 ms on the 2-core VM (SQLite sorts all the context's
rows, made large by the answers' text), the matrix product over 10,000 embeddings well under 1 ms.

The index learns this process's own answers as they are stored and re-reads a context from the file
at most every ``REFRESH_SECONDS``, for answers other sessions or replicas stored meanwhile. An answer
is read from the file by its key before it is served, so one evicted or expired since is never served.
Everything here runs on the cache's one worker thread (``service.py``), so nothing is locked.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from lynkr_cli.cache.store import CacheStore, Entry

REFRESH_SECONDS = 30.0
MAX_QUESTIONS = 10_000  # per context, the newest
MAX_CONTEXTS = 256  # the least recently looked-up context is forgotten first
# The guard rails read at most this many candidates, closest first: reading a question costs ~0.1 ms
# on a loaded 2-core machine (memoized after), and a reworded question's original is among the closest.
GUARD_CANDIDATES = 8


@dataclass
class Match:
    """The answer to serve (or None), the best similarity seen, and why."""

    entry: Entry | None
    similarity: float | None
    reason: str


@dataclass
class _Context:
    loaded_at: float
    keys: list[str] = field(default_factory=list)
    questions: list[str] = field(default_factory=list)
    vectors: list[bytes] = field(default_factory=list)
    _matrix: Any = None

    def add(self, key: str, question: str, vector: bytes) -> None:
        if key in self.keys:
            self.remove(key)
        self.keys.append(key)
        self.questions.append(question)
        self.vectors.append(vector)
        self._matrix = None
        if len(self.keys) > MAX_QUESTIONS:
            self.remove(self.keys[0])

    def remove(self, key: str) -> None:
        index = self.keys.index(key)
        del self.keys[index], self.questions[index], self.vectors[index]
        self._matrix = None

    def scores(self, query: bytes) -> Any:
        """Cosine similarity of the unit vector ``query`` with every stored question (a vector of
        another size, from an older model, scores 0)."""
        import numpy as np

        if self._matrix is None:
            size = len(query)
            self._matrix = np.frombuffer(b"".join(v if len(v) == size else bytes(size) for v in self.vectors),
                                         dtype=np.float32).reshape(len(self.vectors), -1)
        # einsum, not the BLAS product: called from the cache's worker thread, OpenBLAS's own threads
        # made 10,000 x 128 take 4.7 ms instead of 0.4 (einsum: 0.8 ms on either thread).
        return np.einsum("ij,j->i", self._matrix, np.frombuffer(query, dtype=np.float32))


class SemanticIndex:
    """The stored questions of recently looked-up contexts, and the matching over them."""

    def __init__(self, threshold: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.threshold = threshold
        self._clock = clock
        self._contexts: OrderedDict[str, _Context] = OrderedDict()

    def find(self, store: CacheStore, prefix: str, question: str) -> Match:
        from lynkr_cli.cache import guard  # the guard rails are read by semantic lookups only
        from lynkr_cli.cache.embed import embed, model_available

        if not model_available():
            return Match(None, None, "embedding model missing from the package")
        context = self._context(store, prefix)
        if not context.keys:
            return Match(None, None, "no earlier question in this context")
        scores = context.scores(embed(question))
        if len(scores) > GUARD_CANDIDATES:  # the closest few without sorting them all
            closest = scores.argpartition(-GUARD_CANDIDATES)[-GUARD_CANDIDATES:]
            order = sorted(closest.tolist(), key=lambda i: -scores[i])
        else:
            order = sorted(range(len(scores)), key=lambda i: -scores[i])
        best = float(scores[order[0]])
        asked = guard.signature(question)
        veto = None
        for index in order:
            similarity = float(scores[index])
            if similarity < self.threshold:
                break
            reason = guard.compare(asked, guard.signature(context.questions[index]))
            if reason is not None:
                veto = veto or reason
                continue
            key = context.keys[index]
            entry = store.get(key)  # counts the hit; None once evicted or expired
            if entry is None:
                context.remove(key)
                return self.find(store, prefix, question)
            return Match(entry, similarity, f"same context, a reworded question; similarity {similarity:.3f}")
        if veto is None:
            return Match(None, best, f"similarity {best:.3f} below {self.threshold}")
        return Match(None, best, f"guard rails: {veto}")

    def learn(self, prefix: str, key: str, question: str, vector: bytes) -> None:
        """This process stored an answer: a context already in memory knows it without a re-read."""
        context = self._contexts.get(prefix)
        if context is not None:
            context.add(key, question, vector)

    def _context(self, store: CacheStore, prefix: str) -> _Context:
        now = self._clock()
        context = self._contexts.get(prefix)
        if context is None or now - context.loaded_at > REFRESH_SECONDS:
            context = self._load(store, prefix, now)
            self._contexts[prefix] = context
        self._contexts.move_to_end(prefix)
        while len(self._contexts) > MAX_CONTEXTS:
            self._contexts.popitem(last=False)
        return context

    @staticmethod
    def _load(store: CacheStore, prefix: str, now: float) -> _Context:
        from lynkr_cli.cache.embed import embed

        context = _Context(loaded_at=now)
        for entry in reversed(store.candidates(prefix, limit=MAX_QUESTIONS)):  # oldest first, keys unique
            question = entry.question or ""
            context.keys.append(entry.key)
            context.questions.append(question)
            context.vectors.append(entry.embedding or embed(question))
        return context
