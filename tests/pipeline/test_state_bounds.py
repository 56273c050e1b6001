"""The proxy's per-session memory stays bounded however many sessions and tool results pass through.

A day of ``lynkr run claude`` or weeks of ``lynkr serve`` see thousands of sessions; these tests run
several times a structure's cap through it and check what it holds (``bench/soak.py`` measures RSS).
"""

from __future__ import annotations

import json

import pytest

from lynkr_cli.canonical import ModelRequest
from lynkr_cli.pipeline.build import build_pipeline
from lynkr_cli.pipeline.state import Memo, SessionState, SessionStates
from lynkr_cli.routing.coherence import MAX_CONVERSATIONS, TurnChoice, Turns


def listing(session: int, turn: int) -> str:
    """A pretty-printed JSON tool result (the compress stage rewrites it, so the memo keeps text)."""
    rows = [{"file": f"src/s{session}/t{turn}/mod_{i}.py", "line": i * 7, "text": f"def handler_{i}(request):"}
            for i in range(40)]
    return json.dumps(rows, indent=2) + "\n"


def conversation(session: int, turns: int) -> ModelRequest:
    messages: list[dict] = [{"role": "user", "content": f"task {session}"}]
    for turn in range(turns):
        messages.append({"role": "assistant", "content": [
            {"type": "tool_use", "id": f"t{turn}", "name": "Bash", "input": {"command": "grep -rn def"}}]})
        messages.append({"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": f"t{turn}", "content": listing(session, turn)}]})
    body = {"model": "claude-sonnet-4-5", "max_tokens": 100, "messages": messages}
    return ModelRequest(body, raw=json.dumps(body).encode())


def test_session_states_keep_at_most_the_cap_and_forget_the_least_recently_used() -> None:
    cap = 16
    states = SessionStates(max_sessions=cap)
    kept = states.get("session-0")
    kept.decide_once("prune:x", lambda: ["NotebookEdit"])
    for n in range(1, 3 * cap):
        states.get(f"session-{n}")
        states.get("session-0")  # in use all along: never the least recently used
        assert len(states) <= cap
    assert len(states) == cap
    assert states.get("session-0") is kept and kept.decisions == {"prune:x": ["NotebookEdit"]}
    assert states.get("session-1") is not None and len(states) == cap  # forgotten, so a fresh state
    assert states.get("session-1").decisions == {}


def test_memo_stays_under_its_byte_budget_and_recomputes_what_it_dropped() -> None:
    memo = Memo(max_entries=10_000, max_bytes=100_000)
    calls = []

    def text(n: int) -> str:
        calls.append(n)
        return f"{n:06d}" * 1000  # ~6 KB each: the budget holds about 15

    for n in range(300):
        assert memo.get(("t", n), lambda n=n: text(n)) == f"{n:06d}" * 1000
        assert memo.bytes <= 100_000
    assert 10 <= len(memo) <= 17
    assert memo.get(("t", 299), lambda: text(-1)) == f"{299:06d}" * 1000  # recent: a hit
    assert memo.get(("t", 0), lambda: text(0)) == f"{0:06d}" * 1000  # dropped: computed again
    assert calls[-1] == 0 and -1 not in calls


def test_memo_does_not_keep_a_value_larger_than_its_whole_budget() -> None:
    memo = Memo(max_entries=10, max_bytes=1000)
    memo.get("small", lambda: "x")
    assert memo.get("huge", lambda: "y" * 5000) == "y" * 5000
    assert len(memo) == 1 and memo.bytes <= 1000


def test_sessions_share_one_memo_so_the_same_result_is_computed_once() -> None:
    states = SessionStates(max_sessions=4)
    calls = []
    for name in ("main", "subagent"):
        assert states.get(name).memo("same file", lambda name=name: calls.append(name) or "compressed") == "compressed"
    assert calls == ["main"]


def test_a_long_run_of_sessions_through_the_real_pipeline_stays_bounded_and_unchanged() -> None:
    """3 × the session cap, each with its own growing tool results: the pipeline's states and memo
    stay under their caps, and every request is optimized exactly as a fresh proxy would."""
    pipeline = build_pipeline()
    cap, budget = 6, 60_000
    pipeline.sessions = SessionStates(max_sessions=cap, memo=Memo(max_entries=1000, max_bytes=budget))
    fresh = build_pipeline()
    for session in range(3 * cap):
        for turns in (1, 3, 5):
            request = conversation(session, turns)
            out, _ = pipeline.run(request, pipeline.session(f"s{session}"))
            expected, _ = fresh.run(conversation(session, turns), SessionState("fresh"))
            assert out.wire_bytes() == expected.wire_bytes()
            assert len(out.wire_bytes()) < len(request.raw or b"")  # the stage did rewrite the results
            assert len(pipeline.sessions) <= cap
            assert pipeline.sessions.memo.bytes <= budget
    assert len(pipeline.sessions) == cap


def test_routing_turns_keep_at_most_max_conversations() -> None:
    turns = Turns()
    choice = TurnChoice(tier=None, target=None, reason="test")
    for n in range(3 * MAX_CONVERSATIONS):
        turns.set(f"conversation-{n}", choice)
    assert turns.get("conversation-0") is None
    assert turns.get(f"conversation-{2 * MAX_CONVERSATIONS - 1}") is None
    assert turns.get(f"conversation-{2 * MAX_CONVERSATIONS}") is choice
    assert turns.get(f"conversation-{3 * MAX_CONVERSATIONS - 1}") is choice


def test_the_text_stages_caches_stay_under_their_budgets() -> None:
    """Every tool result a proxy sees passes the text stages' caches (pipeline/results.py): bounded
    whatever the traffic (the conversations the stages keep their progress in have their own budget:
    tests/pipeline/test_conversations.py)."""
    from lynkr_cli.pipeline.results import TextCache

    cache: TextCache[str] = TextCache(len, budget_chars=50_000)
    for n in range(500):
        assert cache.get(f"{n:06d}" * 500, lambda n=n: f"r{n}", f"toolu_{n}") == f"r{n}"
        assert cache.chars <= 50_000
    assert 10 <= len(cache) <= 17
    assert cache.get("x" * 3000, lambda: "new", "toolu_499") == "new"  # same id and length, another text


def test_remembered_token_counts_stay_under_their_budget_and_are_the_tokenizers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every tool-result text is counted (pipeline/counting.py remembers counts by text, shared by the
    stages and lynkr replay): the texts it keeps stay within its character budget."""
    from lynkr_cli import tokens
    from lynkr_cli.pipeline import counting

    monkeypatch.setattr(counting, "BUDGET_CHARS", 100_000)
    monkeypatch.setattr(counting, "_counts", {})
    monkeypatch.setattr(counting, "_chars", 0)
    for n in range(200):
        text = f"output {n}\n" + "a line of a long tool output\n" * (40 + n % 7)
        assert counting.count_text(text) == tokens.count_text(text)
        texts, chars = counting.remembered()
        assert chars <= 100_000 and texts >= 1
    assert counting.remembered()[1] > 90_000  # it does keep what fits
    huge = "x " * 80_000
    assert counting.count_text(huge) == tokens.count_text(huge) and huge not in counting._counts
