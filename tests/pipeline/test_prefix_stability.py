"""Prompt-cache safety: replay a real Claude Code session through the pipeline.

The bodies in tests/data/claude_session/ were sent by the real ``claude`` binary (2.1.197) during a
five-turn tool loop (``bench/capture_claude.py``). The provider caches the prompt prefix; if lynkr
rewrote an earlier turn differently on a later request, every turn would pay for a cache write
instead of a cache read. So each forwarded body's message list must start with exactly the bytes
of the previous forwarded body's message list.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from lynkr_cli.canonical import ModelRequest, canonical_json
from lynkr_cli.pipeline.build import build_pipeline
from lynkr_cli.pipeline.config import PipelineConfig
from tests.conftest import REPO_ROOT

SESSION = sorted((REPO_ROOT / "tests" / "data" / "claude_session").glob("*.json"))


def load(path: Path) -> ModelRequest:
    raw = path.read_bytes()
    return ModelRequest(json.loads(raw), raw=raw)


def without_cache_control(value: Any) -> Any:
    """Claude Code moves its ``cache_control`` marker to the newest block each turn; the provider
    matches prefixes up to each marker, so the marker's own position is not part of the comparison."""
    if isinstance(value, dict):
        return {k: without_cache_control(v) for k, v in value.items() if k != "cache_control"}
    if isinstance(value, list):
        return [without_cache_control(v) for v in value]
    return value


def messages_bytes(body: dict) -> bytes:
    return canonical_json({"messages": without_cache_control(body["messages"])})


def assert_prefix_stable(bodies: list[dict]) -> None:
    for previous, current in zip(bodies, bodies[1:]):
        assert canonical_json({"s": previous.get("system")}) == canonical_json({"s": current.get("system")})
        assert canonical_json({"t": previous.get("tools")}) == canonical_json({"t": current.get("tools")})
        before, after = messages_bytes(previous), messages_bytes(current)
        # ``{"messages":[m1,...,mk]}`` without its closing ``]}`` must open the next body's list.
        assert after.startswith(before[:-2]), "an earlier turn's bytes changed"


def test_the_captured_session_is_real_multi_turn_and_reserializes_byte_for_byte() -> None:
    assert len(SESSION) >= 5
    requests = [load(p) for p in SESSION]
    for request in requests:
        assert canonical_json(request.body) == request.raw  # comparing parsed bodies is comparing bytes
    assert [len(r.messages) for r in requests] == sorted(len(r.messages) for r in requests)
    assert_prefix_stable([r.body for r in requests])  # the client itself keeps its prefix


def test_each_forwarded_body_extends_the_previous_one_byte_for_byte() -> None:
    pipeline = build_pipeline()
    state = pipeline.session("replay")
    forwarded: list[dict] = []
    for path in SESSION:
        request = load(path)
        out, reports = pipeline.run(request, state)
        wire = out.wire_bytes()
        forwarded.append(json.loads(wire))
        if out is request:
            assert wire == request.raw
    assert_prefix_stable(forwarded)
    # Not vacuous: the tool results really were rewritten (JSON as TOON/minified, logs cleaned).
    last_original = load(SESSION[-1])
    assert len(canonical_json(forwarded[-1])) < 0.95 * len(last_original.raw)
    (compress,) = [r for r in reports if r.stage == "compress"]
    for representation in ("toon", "json-min", "text-clean"):  # grep JSON, package.json, test log
        assert representation in compress.decision
    assert compress.saved > 1000


@pytest.mark.parametrize("config", [PipelineConfig(), PipelineConfig(stages={"compress": True, "prune": True})])
def test_a_restarted_proxy_forwards_the_same_bytes(config: PipelineConfig) -> None:
    """Output depends only on the request and config, not on what this process saw before
    (``lynkr run claude --resume`` starts a new proxy mid-conversation)."""
    warm = build_pipeline(config)
    state = warm.session("s")
    for path in SESSION:
        request = load(path)
        continued = warm.run(request, state)[0].wire_bytes()
        fresh_pipeline = build_pipeline(config)
        fresh = fresh_pipeline.run(load(path), fresh_pipeline.session("s"))[0].wire_bytes()
        assert continued == fresh


def test_the_input_bodies_are_not_mutated() -> None:
    pipeline = build_pipeline()
    state = pipeline.session("s")
    for path in SESSION:
        request = load(path)
        snapshot = copy.deepcopy(request.body)
        pipeline.run(request, state)
        assert request.body == snapshot
