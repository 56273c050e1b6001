"""The rewriting stages over real multi-turn sessions: prefix-stable, lossless, and not vacuous.

Sessions: the five bodies the real ``claude`` binary sent (tests/data/claude_session), the four the
real ``codex`` binary sent (tests/data/codex_session), and the transcripts recorded with both
binaries doing tool-heavy work on real repositories (bench/sessions/recorded: listing, ``rg``,
overlapping ``sed`` ranges, a re-read after an edit, the test suite twice, ``git diff``).

Each is run through ``lynkr replay``'s engine (the proxy's pipeline and per-session state), which
counts prefix breaks (a forwarded request that does not start with the previous one while the
client's did) and the stages' own lossless failures; then the whole-conversation expander
(``pipeline/expand.py``) must turn every forwarded request back into exactly what the stages were
given, and a proxy restarted at any turn must forward the same bytes.
"""

from __future__ import annotations

import json

import pytest

from lynkr_cli.canonical import ModelRequest
from lynkr_cli.formats import codec
from lynkr_cli.pipeline.build import build_pipeline
from lynkr_cli.pipeline.config import PipelineConfig
from lynkr_cli.pipeline.conversation import running
from lynkr_cli.pipeline.expand import expand_messages
from lynkr_cli.replay.engine import Replayer
from lynkr_cli.replay.load import load_session
from lynkr_cli.replay.session import RebuiltRequest, ReplaySession
from tests.conftest import REPO_ROOT

REWRITING = ("paths", "dedup", "linenums")
RECORDED = sorted((REPO_ROOT / "bench" / "sessions" / "recorded").glob("*.jsonl"))


def _bodies(folder: str, inbound: str) -> ReplaySession:
    paths = sorted((REPO_ROOT / "tests" / "data" / folder).glob("*.json"))
    requests = [RebuiltRequest(json.loads(p.read_bytes()), inbound) for p in paths]  # type: ignore[arg-type]
    return ReplaySession(str(paths[0].parent), "claude" if inbound == "anthropic" else "codex", folder, requests)


def sessions() -> list[ReplaySession]:
    return [_bodies("claude_session", "anthropic"), _bodies("codex_session", "openai-responses"),
            *(load_session(path) for path in RECORDED)]


@pytest.fixture(scope="module")
def all_sessions() -> list[ReplaySession]:
    found = sessions()
    assert len(found) == 2 + len(RECORDED) >= 4 and all(len(s.requests) >= 4 for s in found)
    return found


def _decoded(session: ReplaySession) -> list[ModelRequest]:
    return [codec(r.inbound).decode_request(r.payload, b"") for r in session.requests]


def test_no_prefix_break_and_no_lossless_failure_and_real_savings(all_sessions: list[ReplaySession]) -> None:
    replayer = Replayer(build_pipeline())
    results = {s.session_id: replayer.replay(s) for s in all_sessions}
    for result in results.values():
        assert result.prefix_breaks == 0, result.path
        assert result.lossless_failures == 0 and result.stage_errors == 0, result.path
        assert result.input_tokens_lynkr < result.input_tokens_direct
    recorded = [r for r in results.values() if "itsdangerous" in r.path]
    assert len(recorded) == 2
    for result in recorded:  # re-reads, overlapping ranges and the repeated test run become references
        assert result.by_stage.get("dedup", 0) > 1000, result.by_stage
        assert result.by_stage.get("paths", 0) > 500, result.by_stage  # rg -n output grouped by file


def test_expanding_every_forwarded_request_gives_what_the_stages_were_given(all_sessions: list[ReplaySession]) -> None:
    given = build_pipeline(PipelineConfig(stages={name: False for name in REWRITING}))
    full = build_pipeline()
    rewritten = 0
    for session in all_sessions:
        given_state, full_state = given.session(session.session_id), full.session(session.session_id)
        for request in _decoded(session):
            before = given.run(request, given_state)[0]
            after = full.run(request, full_state)[0]
            rewritten += after.messages != before.messages
            assert expand_messages(after.messages) == before.messages
    assert rewritten >= 15


@pytest.mark.parametrize("stage", REWRITING)
def test_each_stage_alone_is_prefix_stable_and_lossless(all_sessions: list[ReplaySession], stage: str) -> None:
    only = {name: name in ("compress", stage) for name in ("compress", "prune", "terminal", *REWRITING)}
    replayer = Replayer(build_pipeline(PipelineConfig(stages=only)))
    saved = 0
    for session in all_sessions:
        result = replayer.replay(session)
        assert result.prefix_breaks == 0 and result.lossless_failures == 0 and result.stage_errors == 0
        saved += result.by_stage.get(stage, 0)
    if stage != "linenums":  # the captured agents print no padded numbers (Claude Code 2.1.197 uses 1\t)
        assert saved > 0


def test_a_proxy_restarted_at_any_turn_forwards_the_same_bytes(all_sessions: list[ReplaySession]) -> None:
    """``claude --resume`` under a new ``lynkr run``: no memory of earlier turns, same output."""
    for session in all_sessions:
        warm = build_pipeline()
        state = warm.session(session.session_id)
        for request in _decoded(session):
            continued = warm.run(request, state)[0].wire_bytes()
            fresh = build_pipeline()
            assert fresh.run(request, fresh.session(session.session_id))[0].wire_bytes() == continued


def test_interleaved_conversations_under_one_session_key_do_not_change_each_other() -> None:
    """Claude Code's sub-agents send their own conversations with the main session's id."""
    first, second = (_decoded(load_session(path)) for path in RECORDED if "itsdangerous" in path.name)
    alone = build_pipeline()
    expected = [alone.run(r, alone.session("a"))[0].wire_bytes() for r in first]
    expected_second = [alone.run(r, alone.session("b"))[0].wire_bytes() for r in second]
    mixed = build_pipeline()
    state = mixed.session("shared")
    got, got_second = [], []
    for one, two in zip(first, second):
        got.append(mixed.run(one, state)[0].wire_bytes())
        got_second.append(mixed.run(two, state)[0].wire_bytes())
    n = min(len(first), len(second))
    assert got == expected[:n] and got_second == expected_second[:n]


def test_references_read_as_plain_english_about_earlier_calls(all_sessions: list[ReplaySession]) -> None:
    recorded = [s for s in all_sessions if "claude-itsdangerous" in s.path]
    pipeline = build_pipeline()
    state = pipeline.session("s")
    for request in _decoded(recorded[0]):
        out = pipeline.run(request, state)[0]
    texts = [b["content"] if isinstance(b["content"], str) else b["content"][0]["text"]
             for m in out.messages if isinstance(m.get("content"), list)
             for b in m["content"] if b.get("type") == "tool_result"]
    marks = [line for text in texts for line in text.split("\n") if line.startswith("[lines ")]
    assert any(" of the previous output of Read /work/itsdangerous/src/itsdangerous/signer.py]" in m for m in marks)
    assert any("of the previous output of Bash `PYTHONPATH=src python3 -m pytest" in m for m in marks)
    # the re-read after the edit keeps the listing's first line and every changed line
    reread = next(t for t in texts if t.startswith("60\t") and "[lines 61-" in t)
    assert "Rotate keys by appending the new key" in reread


def test_the_proxys_report_counts_each_stage(all_sessions: list[ReplaySession]) -> None:
    from lynkr_cli.pipeline.base import summarize_reports

    pipeline = build_pipeline()
    state = pipeline.session("s")
    session = next(s for s in all_sessions if "codex-itsdangerous" in s.path)
    for request in _decoded(session):
        _, reports = pipeline.run(request, state)
    summary = summarize_reports(reports)
    by_stage = {s["stage"]: s for s in summary["stages"]}
    assert set(by_stage) == {"terminal", "compress", "paths", "dedup", "linenums"}
    dedup = by_stage["dedup"]
    assert dedup["changed"] and dedup["tokens_before"] > dedup["tokens_after"]
    assert dedup["metrics"]["references"] >= 3 and dedup["metrics"]["history_tokens_saved"] > 0
    assert summary["tokens_saved"] == sum(s["tokens_before"] - s["tokens_after"] for s in summary["stages"] if s["changed"])


def test_running_the_stages_on_their_own_output_changes_nothing(all_sessions: list[ReplaySession]) -> None:
    """Idempotent (base.py's contract): ``lynkr optimize`` on a body lynkr already forwarded, or a
    proxy behind another lynkr, sends the same bytes again."""
    for session in all_sessions:
        last = _decoded(session)[-1]
        first = build_pipeline()
        out = first.run(last, first.session("a"))[0]
        again = build_pipeline()
        state = again.session("b")
        assert again.run(out, state)[0].body == out.body
        assert running() is None  # the run does not leave its conversation behind
