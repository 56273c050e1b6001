"""The bill with prompt-cache pricing, and what replay counts against a stage."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from lynkr_cli.canonical import ModelRequest
from lynkr_cli.ledger.pricing import price_for
from lynkr_cli.pipeline.base import Pipeline, StageReport
from lynkr_cli.pipeline.build import build_pipeline
from lynkr_cli.replay.bill import Ledger, Segment
from lynkr_cli.replay.engine import Replayer
from lynkr_cli.replay.load import load_session
from lynkr_cli.replay.run import Progress
from tests.replay.transcripts import claude_lines, write


def seg(name: str, tokens: int) -> Segment:
    return Segment(name.encode(), tokens)


def test_shared_prefix_is_read_from_cache_and_new_content_written() -> None:
    price = price_for("claude-sonnet-4-5")
    assert price is not None
    ledger = Ledger()
    first = ledger.add([seg("tools", 3000), seg("q", 100)], "claude-sonnet-4-5", "anthropic", True, 0.0)
    assert (first.cache_read, first.cache_write) == (0, 3100)
    second = ledger.add([seg("tools", 3000), seg("q", 100), seg("a", 50)], "claude-sonnet-4-5", "anthropic", True, 60.0)
    assert (second.cache_read, second.cache_write) == (3100, 50)
    assert second.usd == pytest.approx((3100 * price.cache_read + 50 * price.cache_write) / 1e6)
    # Six minutes later the cache has expired: everything is written again.
    third = ledger.add([seg("tools", 3000), seg("q", 100), seg("a", 50)], "claude-sonnet-4-5", "anthropic", True, 420.0)
    assert third.cache_read == 0
    # Without a breakpoint Anthropic caches nothing: every token at the input price.
    plain = Ledger()
    plain.add([seg("tools", 3000)], "claude-sonnet-4-5", "anthropic", False, 0.0)
    bill = plain.add([seg("tools", 3000), seg("q", 10)], "claude-sonnet-4-5", "anthropic", False, 1.0)
    assert (bill.cache_read, bill.uncached) == (0, 3010)
    assert bill.usd == pytest.approx(3010 * price.input / 1e6)
    # A prefix under the providers' minimum is not cached.
    small = Ledger()
    small.add([seg("q", 500)], "claude-sonnet-4-5", "anthropic", True, 0.0)
    assert small.add([seg("q", 500), seg("a", 5)], "claude-sonnet-4-5", "anthropic", True, 1.0).cache_read == 0


class RewritesHistoryOnOddTurns:
    """A stage that breaks rule 1: the same history gets different bytes on different turns."""

    name = "bad"

    def __init__(self) -> None:
        self.calls = 0

    def apply(self, request: ModelRequest, state: Any) -> tuple[ModelRequest, StageReport]:
        self.calls += 1
        report = StageReport(stage=self.name, metrics={"lossless_failures": 1})
        if self.calls % 2 == 0:
            return request, report
        messages = list(request.messages)
        messages[0] = {"role": "user", "content": [{"type": "text", "text": f"rewritten {self.calls}"}]}
        report.changed, report.tokens_before, report.tokens_after = True, 10, 4
        return request.with_body({**request.body, "messages": messages}), report


def test_prefix_breaks_and_lossless_failures_are_counted(tmp_path: Path) -> None:
    session = load_session(write(tmp_path / "s.jsonl", claude_lines()))
    result = Replayer(Pipeline([RewritesHistoryOnOddTurns()])).replay(session)
    assert result.requests == 4
    assert result.prefix_breaks == 3  # every turn after the first changed bytes the client had kept
    assert result.lossless_failures == 4
    assert result.by_stage == {"bad": 12}
    clean = Replayer(build_pipeline()).replay(session)
    assert clean.prefix_breaks == 0 and clean.lossless_failures == 0
    assert clean.bill_lynkr_usd < result.bill_lynkr_usd  # the broken cache costs money


def test_translated_codex_traffic_is_cached_through_lynkr(tmp_path: Path) -> None:
    from lynkr_cli.replay.run import _target
    from tests.replay.transcripts import codex_lines

    session = load_session(write(tmp_path / "r.jsonl", codex_lines()))
    result = Replayer(build_pipeline(), target=_target("anthropic:claude-sonnet-4-5")).replay(session)
    assert result.cache_read_tokens_direct == 0  # a plain translator sends no breakpoint: nothing cached
    assert result.cache_read_tokens_lynkr > 0
    assert result.bill_lynkr_usd < result.bill_direct_usd


def test_progress_bar_only_on_a_terminal() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    tty = Tty()
    bar = Progress(4, tty)
    bar.update(2, 120)
    assert "[###############...............] 2/4 transcripts, 120 requests" in tty.getvalue()
    pipe = io.StringIO()
    Progress(4, pipe).update(2, 120)
    assert pipe.getvalue() == ""


def test_each_model_keeps_its_own_cache() -> None:
    ledger = Ledger()
    prefix = [seg("tools", 3000), seg("q", 100)]
    ledger.add(prefix, "claude-sonnet-4-5", "anthropic", True, 0.0)
    other = ledger.add(prefix + [seg("a", 10)], "claude-haiku-4-5", "anthropic", True, 10.0)
    assert other.cache_read == 0  # another model: its own (empty) cache
    back = ledger.add(prefix + [seg("a", 10), seg("b", 10)], "claude-sonnet-4-5", "anthropic", True, 20.0)
    assert back.cache_read == 3100  # routed back: the first model's cache is still warm


def test_a_chat_completions_upstream_counts_the_same_conversation(tmp_path: Path) -> None:
    from lynkr_cli.replay.run import _target

    session = load_session(write(tmp_path / "s.jsonl", claude_lines()))
    native = Replayer(build_pipeline()).replay(session)
    chat = Replayer(build_pipeline(), target=_target("deepseek:deepseek-chat")).replay(session)
    assert chat.requests == native.requests == 4
    # The same messages in another wire format: within a few percent (framing, the system-role message).
    assert abs(chat.input_tokens_direct - native.input_tokens_direct) < 0.05 * native.input_tokens_direct
    assert chat.input_by_kind["tool result: JSON"] == native.input_by_kind["tool result: JSON"]
    assert chat.cache_read_tokens_direct > 0  # an OpenAI-format upstream caches the prefix by itself


class LosesResults:
    """A stage that calls itself ``dedup`` but throws the newest tool result's text away."""

    name = "dedup"

    def apply(self, request: ModelRequest, state: Any) -> tuple[ModelRequest, StageReport]:
        report = StageReport(stage=self.name)
        messages = list(request.messages)
        last = messages[-1]
        content = last.get("content")
        if not isinstance(content, list) or not any(b.get("type") == "tool_result" for b in content):
            return request, report
        blocks = [{**b, "content": "[gone]"} if b.get("type") == "tool_result" else b for b in content]
        messages[-1] = {**last, "content": blocks}
        report.changed, report.tokens_before, report.tokens_after = True, 100, 2
        return request.with_body({**request.body, "messages": messages}), report


def test_verify_undoes_the_reversible_stages_and_catches_a_lossy_one(tmp_path: Path) -> None:
    session = load_session(write(tmp_path / "s.jsonl", claude_lines()))
    lossy = Replayer(Pipeline([LosesResults()]), verify=True).replay(session)
    assert lossy.lossless_failures == 0  # the stage reports nothing wrong about itself
    assert lossy.verify_failures == 2  # the two requests whose newest message it emptied
    honest = Replayer(build_pipeline(), verify=True).replay(session)
    assert honest.verify_failures == 0
    assert Replayer(build_pipeline()).replay(session).verify_failures is None  # not checked without --verify
