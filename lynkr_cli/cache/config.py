"""Cache settings: the ``cache`` section of lynkr's ``Settings`` (``[cache]`` in lynkr.toml,
``LYNKR_CACHE=exact``, ``LYNKR_CACHE__TTL_SECONDS=3600``, ``--cache`` on run and serve)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

CacheMode = Literal["off", "exact", "semantic"]

# The least cosine similarity for a semantic candidate. Low on purpose: the guard rails decide, the
# embedding only ranks and drops unrelated questions (tests/cache/data, tuning half with the rules of
# 2026-12-04 14:00: 47 of 84 rewordings at 0.7, 48 at 0.6, 0.5 or 0.4, 0 wrong hits at any of them;
# earlier rules: 42 at 0.7, 38 at 0.8, 32 at 0.85). Kept at 0.6, not lower: what it drops still saves
# reading guard signatures of unrelated questions.
DEFAULT_THRESHOLD = 0.6


class CacheConfig(BaseModel):
    """How the response cache behaves.

    ``off`` by default: an agent's user who rewinds and re-asks expects a fresh answer, and a benchmark
    that repeats a request expects the model to be called, so caching is something to switch on.
    """

    model_config = ConfigDict(extra="forbid")

    mode: CacheMode = Field(default="off", description="off | exact | semantic (semantic includes exact)")
    ttl_seconds: int = Field(default=7 * 24 * 3600, gt=0, description="How long an answer may be reused")
    max_mb: float = Field(default=256.0, gt=0, description="Size bound of the cache file's entries")
    semantic_threshold: float = Field(
        default=DEFAULT_THRESHOLD, ge=0.5, le=1.0,
        description="Least cosine similarity for a semantic candidate (the guard rails then decide)"
    )


def _coerce(value: Any) -> Any:
    """``LYNKR_CACHE=exact`` names the mode (a table would be expected here otherwise)."""
    return {"mode": value.strip().lower()} if isinstance(value, str) else value


CacheSetting = Annotated[CacheConfig, BeforeValidator(_coerce)]
