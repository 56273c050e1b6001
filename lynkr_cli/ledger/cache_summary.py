"""What the cache did in a session, from its ledger rows: hits, misses, skips, and what hits saved.

Saved figures are the usage and list-price cost the stored answer had when the upstream produced it
(cache reads and writes included), so a hit saves exactly what asking again would have cost then.
"""

from __future__ import annotations

from typing import Any, Iterable

MODEL_ROUTES = frozenset({"/v1/messages", "/v1/chat/completions", "/v1/responses", "/responses", "/chat/completions"})


def cache_summary(requests: Iterable[dict[str, Any]]) -> dict[str, Any] | None:
    """Counts and savings, or None when the cache was off for every request."""
    out: dict[str, Any] = {"hits_exact": 0, "hits_semantic": 0, "misses": 0, "skips": 0, "saved_input_tokens": 0,
                           "saved_output_tokens": 0, "saved_usd": 0.0, "unpriced_hits": 0, "skip_reasons": {},
                           "semantic_similarities": []}
    active = False
    for row in requests:
        if row.get("route") not in MODEL_ROUTES:
            continue
        cache = (row.get("details") or {}).get("cache")
        if not isinstance(cache, dict) or "decision" not in cache:
            continue
        decision, reason = cache["decision"], cache.get("reason", "")
        if decision == "skip":
            out["skips"] += 1
            out["skip_reasons"][reason] = out["skip_reasons"].get(reason, 0) + 1
            active = active or reason != "cache off"
            continue
        active = True
        if decision == "miss":
            out["misses"] += 1
            continue
        out["hits_exact" if decision == "hit-exact" else "hits_semantic"] += 1
        if decision == "hit-semantic" and isinstance(cache.get("similarity"), (int, float)):
            out["semantic_similarities"].append(float(cache["similarity"]))
        out["saved_input_tokens"] += int(cache.get("saved_input_tokens") or 0)
        out["saved_output_tokens"] += int(cache.get("saved_output_tokens") or 0)
        if cache.get("saved_usd") is None:
            out["unpriced_hits"] += 1
        else:
            out["saved_usd"] += float(cache["saved_usd"])
    return out if active else None


def similarity_text(similarities: list[float]) -> str:
    """`` at similarity 0.93`` for one semantic hit, `` at similarity 0.81-0.97`` for several: how close
    the reworded questions were to the ones whose answers they got."""
    if not similarities:
        return ""
    low, high = min(similarities), max(similarities)
    return f" at similarity {low:.2f}" if f"{low:.2f}" == f"{high:.2f}" else f" at similarity {low:.2f}-{high:.2f}"
