"""The stages' per-conversation progress: each turn handles only what is new, and never reuses stale state.

The proxy keeps, per session, the conversations it has seen and what every stage made of them
(``pipeline/conversation.py``, ``pipeline/progress.py``). These tests drive real sessions (the
bodies the real ``claude`` binary sent, and transcripts recorded with ``claude`` and ``codex``) the
ways clients really change a conversation: Claude Code moving its ``cache_control`` marker every
turn, a rewind, an edited message, ``/compact``, sub-agents interleaved under one session id, Codex
items merged into a growing last message; every forwarded request must be byte for byte what a
fresh proxy sends for it, and a tool result must be processed once per conversation, not once per turn.
"""

from __future__ import annotations

import copy
import json
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from lynkr_cli.canonical import ModelRequest
from lynkr_cli.formats import codec
from lynkr_cli.pipeline import dedup
from lynkr_cli.pipeline.base import Pipeline, StageReport
from lynkr_cli.pipeline.build import build_pipeline
from lynkr_cli.pipeline.conversation import Conversations
from lynkr_cli.pipeline.results import Rewrite, ToolOf, rewrite_results
from lynkr_cli.pipeline.state import SessionState, SessionStates
from lynkr_cli.replay.load import load_session
from tests.conftest import REPO_ROOT

RECORDED = REPO_ROOT / "bench" / "sessions" / "recorded"


def decoded(name: str) -> list[ModelRequest]:
    session = load_session(RECORDED / f"{name}.jsonl")
    return [codec(r.inbound).decode_request(r.payload, b"") for r in session.requests]


def claude_bodies() -> list[ModelRequest]:
    paths = sorted((REPO_ROOT / "tests" / "data" / "claude_session").glob("*.json"))
    return [ModelRequest(json.loads(p.read_bytes()), raw=p.read_bytes()) for p in paths]


def fresh_bytes(request: ModelRequest) -> bytes:
    pipeline = build_pipeline()
    return pipeline.run(request, pipeline.session("fresh"))[0].wire_bytes()


def with_messages(request: ModelRequest, messages: list[Any]) -> ModelRequest:
    return ModelRequest({**request.body, "messages": messages})


def replaced_result(request: ModelRequest, index: int, text: str) -> ModelRequest:
    """``request`` with the text of its ``index``-th tool result (all messages counted) replaced."""
    messages = copy.deepcopy(request.messages)
    found = [b for m in messages if isinstance(m.get("content"), list) for b in m["content"]
             if b.get("type") == "tool_result"]
    block = found[index]
    if isinstance(block["content"], list):
        block["content"] = [{"type": "text", "text": text}]
    else:
        block["content"] = text
    return with_messages(request, messages)


class CountingStage:
    """A text stage that rewrites nothing and counts the texts it is asked about, by tool_use id."""

    name = "paths"

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    def apply(self, request: ModelRequest, state: SessionState) -> tuple[ModelRequest, StageReport]:
        report = StageReport(self.name)

        def rewrite(text: str, tool_use_id: str, tool_of: ToolOf) -> Rewrite:
            self.calls[tool_use_id] += 1
            return Rewrite()

        return rewrite_results(request, rewrite, report), report


def result_ids(request: ModelRequest) -> set[str]:
    return {b["tool_use_id"] for m in request.messages if isinstance(m.get("content"), list)
            for b in m["content"] if b.get("type") == "tool_result"}


def test_each_tool_result_is_looked_at_once_per_conversation_though_claude_code_moves_its_marker() -> None:
    bodies = claude_bodies()
    marked = [[i for i, m in enumerate(b.messages) if isinstance(m["content"], list)
               and any("cache_control" in block for block in m["content"])] for b in bodies]
    assert [m[-1] for m in marked[1:]] == [len(b.messages) - 1 for b in bodies[1:]]  # the marker moves each turn
    stage = CountingStage()
    pipeline = Pipeline([stage])
    for body in bodies:
        pipeline.run(body, pipeline.session("s"))
    assert set(stage.calls) == result_ids(bodies[-1]) and len(stage.calls) >= 4
    assert set(stage.calls.values()) == {1}


def test_dedup_indexes_each_result_once_and_every_turn_is_what_a_fresh_proxy_sends(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: Counter[str] = Counter()
    original = dedup.rewrite_result

    def counted(text: str, key: Any, scan: Any) -> Any:
        calls[text] += 1
        return original(text, key, scan)

    requests = decoded("claude-itsdangerous")
    expected = [fresh_bytes(request) for request in requests]
    monkeypatch.setattr(dedup, "rewrite_result", counted)
    pipeline = build_pipeline()
    state = pipeline.session("s")
    assert [pipeline.run(request, state)[0].wire_bytes() for request in requests] == expected
    incremental = sum(calls.values())
    calls.clear()
    fresh_bytes(requests[-1])  # the whole conversation at once, from nothing
    assert incremental == sum(calls.values()) >= 10 and set(calls.values()) == {1}


def run_all(pipeline: Pipeline, key: str, requests: list[ModelRequest]) -> None:
    state = pipeline.session(key)
    for request in requests:
        assert pipeline.run(request, state)[0].wire_bytes() == fresh_bytes(request)


def test_a_rewind_then_the_old_branch_again() -> None:
    """Claude Code's rewind (Esc Esc): the conversation goes back a few turns and continues otherwise;
    the abandoned branch may come back (the other conversation of a session restored)."""
    requests = decoded("claude-itsdangerous")
    pipeline = build_pipeline()
    run_all(pipeline, "s", requests[:9])
    back = requests[5]
    other = replaced_result(back, -1, "\n".join(f"a different output, line {i}" for i in range(40)))
    run_all(pipeline, "s", [other, with_messages(requests[6], other.messages + requests[6].messages[len(other.messages):])])
    run_all(pipeline, "s", requests[9:])


def test_an_edited_earlier_message_is_not_answered_from_stale_state() -> None:
    requests = decoded("claude-itsdangerous")
    pipeline = build_pipeline()
    run_all(pipeline, "s", requests[:8])
    # The same conversation, one earlier tool result different (a file changed between two reads):
    # dedup's references after it must be computed against the new text.
    first_text = next(b["content"] for m in requests[7].messages if isinstance(m["content"], list)
                      for b in m["content"] if b.get("type") == "tool_result")
    assert isinstance(first_text, (str, list))
    edited = replaced_result(requests[7], 0, "edited\n" + "\n".join(f"row {i}" for i in range(30)))
    run_all(pipeline, "s", [edited, requests[7], requests[8]])


def test_compaction_starts_a_new_conversation_and_the_old_one_still_continues() -> None:
    requests = decoded("claude-itsdangerous")
    pipeline = build_pipeline()
    run_all(pipeline, "s", requests[:8])
    summary = {"role": "user", "content": "This session is being continued from a previous conversation. Summary: ..."}
    compacted = with_messages(requests[8], [summary, *requests[8].messages[-2:]])
    run_all(pipeline, "s", [compacted, requests[8], requests[9]])


def test_sub_agents_and_side_requests_interleaved_under_one_session_id() -> None:
    """Claude Code sends its sub-agents' conversations (and short side requests) with the main
    session's id; fewer kept conversations than live ones forces them out and back."""
    main, sub = decoded("claude-itsdangerous"), decoded("claude-humanize")
    side = [with_messages(r, r.messages[:1]) for r in main[:4]]
    pipeline = build_pipeline()
    pipeline.sessions = SessionStates(conversations=Conversations(per_session=2))
    state = pipeline.session("shared")
    for i in range(max(len(main), len(sub))):
        for request in (main[i:i + 1] + sub[i:i + 1] + side[i:i + 1]):
            assert pipeline.run(request, state)[0].wire_bytes() == fresh_bytes(request)


def test_codex_items_merged_into_a_growing_last_message() -> None:
    """A Codex commentary then the call made after it: decoded, the last assistant message of one
    request has more blocks in the next; its new blocks are processed, its old ones kept."""
    responses = codec("openai-responses")
    listing = "\n".join(f"src/app/module_{i}.py:{i * 3}:def handler_{i}(request):" for i in range(12))
    items: list[dict[str, Any]] = [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "fix it"}]}]
    requests = []
    for turn in range(4):
        items.append({"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": f"Looking {turn}."}]})
        requests.append(responses.decode_request({"model": "gpt-5-codex", "input": list(items)}, b""))
        items.append({"type": "function_call", "call_id": f"c{turn}", "name": "exec_command",
                      "arguments": json.dumps({"cmd": f"rg -n handler src/app ({turn})"})})
        items.append({"type": "function_call_output", "call_id": f"c{turn}", "output": f"{listing}\nturn {turn}"})
        requests.append(responses.decode_request({"model": "gpt-5-codex", "input": list(items)}, b""))
    grown = requests[1].messages[1]
    assert grown["content"][0] == requests[0].messages[1]["content"][0] and len(grown["content"]) == 2
    pipeline = build_pipeline()
    run_all(pipeline, "codex", requests)
    out = pipeline.run(requests[-1], pipeline.session("codex"))[0]
    assert any("[lines " in b["content"] for m in out.messages if isinstance(m["content"], list)
               for b in m["content"] if b.get("type") == "tool_result")  # dedup saw the grown messages' calls


def test_only_the_new_blocks_of_a_grown_message_are_indexed() -> None:
    """Outputs of parallel calls arriving one request apart land in one decoded user message: the
    first output must not be indexed twice (dedup would then point it at itself)."""
    listing = "\n".join(f"{i:4}: a line of the file that is long enough to be worth a reference" for i in range(30))
    calls = {"role": "assistant", "content": [
        {"type": "tool_use", "id": "c1", "name": "Bash", "input": {"command": "cat a.txt"}},
        {"type": "tool_use", "id": "c2", "name": "Bash", "input": {"command": "cat b.txt"}}]}
    first = {"type": "tool_result", "tool_use_id": "c1", "content": listing}
    second = {"type": "tool_result", "tool_use_id": "c2", "content": listing + "\nand one more line"}
    head = [{"role": "user", "content": "compare a.txt and b.txt"}, calls]
    requests = [ModelRequest({"model": "m", "max_tokens": 10, "messages": messages}) for messages in (
        [*head, {"role": "user", "content": [first]}],
        [*head, {"role": "user", "content": [first, second]}],
        [*head, {"role": "user", "content": [first, second]}, {"role": "assistant", "content": "They differ by one line."}],
    )]
    pipeline = build_pipeline()
    run_all(pipeline, "s", requests)
    out = pipeline.run(requests[-1], pipeline.session("s"))[0]
    results = out.messages[2]["content"]
    assert results[0]["content"] == listing
    assert results[1]["content"].startswith("[lines 1-30: same as lines 1-30 of the previous output of Bash `cat a.txt`]")


def test_a_stage_that_fails_half_way_is_computed_again_next_turn(monkeypatch: pytest.MonkeyPatch) -> None:
    requests = decoded("claude-itsdangerous")
    pipeline = build_pipeline()
    state = pipeline.session("s")
    for request in requests[:6]:
        pipeline.run(request, state)
    original = dedup.rewrite_result
    failing = {"left": 1}

    def flaky(text: str, key: Any, scan: Any) -> Any:
        if failing["left"]:
            failing["left"] -= 1
            raise RuntimeError("a stage bug")
        return original(text, key, scan)

    monkeypatch.setattr(dedup, "rewrite_result", flaky)
    out, reports = pipeline.run(requests[6], state)
    assert next(r for r in reports if r.stage == "dedup").error == "RuntimeError: a stage bug"
    for request in requests[7:]:
        assert pipeline.run(request, state)[0].wire_bytes() == fresh_bytes(request)


def test_a_conversation_busy_in_another_thread_is_computed_on_its_own() -> None:
    requests = decoded("claude-itsdangerous")
    pipeline = build_pipeline()
    state = pipeline.session("s")
    for request in requests[:6]:
        pipeline.run(request, state)
    conversation, _ = pipeline.sessions.conversations.follow("s", requests[6].messages)
    results: list[bytes] = []
    with conversation.lock:
        worker = threading.Thread(target=lambda: results.append(pipeline.run(requests[6], state)[0].wire_bytes()))
        worker.start()
        worker.join(30)
    assert results == [fresh_bytes(requests[6])]
    run_all(pipeline, "s", requests[7:])


class SubAgentMeanwhile:
    """A stage that, when armed, has another thread optimize a sub-agent's request of the same session
    to the end before it returns: two conversations of one session in flight at once."""

    name = "terminal"

    def __init__(self, pipeline: Pipeline, state: SessionState, requests: list[ModelRequest]) -> None:
        self.pipeline, self.state, self.requests = pipeline, state, iter(requests)
        self.armed = False

    def apply(self, request: ModelRequest, state: SessionState) -> tuple[ModelRequest, StageReport]:
        sub = next(self.requests, None) if self.armed else None
        self.armed = False
        if sub is not None:
            worker = threading.Thread(target=self.pipeline.run, args=(sub, self.state))
            worker.start()
            worker.join(30)
        return request, StageReport(self.name)


def test_two_conversations_of_one_session_optimized_at_once_keep_their_own_progress() -> None:
    """A sub-agent's request optimized in another thread while its parent's is between two stages:
    each run works on its own conversation (the later stages of the parent's run still find theirs)."""
    main = claude_bodies()
    sub = [ModelRequest(json.loads(json.dumps(r.body).replace('"toolu_', '"toolu_sub_')))  # ids of its own
           for r in decoded("claude-humanize")]
    counting = CountingStage()
    pipeline = Pipeline([])
    state = pipeline.session("shared")
    meanwhile = SubAgentMeanwhile(pipeline, state, sub)
    pipeline.stages = [meanwhile, counting]
    for body in main:
        meanwhile.armed = True
        pipeline.run(body, state)
    assert result_ids(main[-1]) <= set(counting.calls) and len(result_ids(sub[len(main) - 1])) >= 2
    assert set(counting.calls.values()) == {1}  # every result of either conversation looked at once


@pytest.mark.parametrize("make", [lambda r: r, lambda r: ModelRequest(json.loads(json.dumps(r.body)))],
                         ids=["same objects", "parsed again"])
def test_a_repeated_request_forwards_the_same_bytes(make: Callable[[ModelRequest], ModelRequest]) -> None:
    requests = decoded("codex-itsdangerous")
    pipeline = build_pipeline()
    state = pipeline.session("s")
    for request in requests:
        first = pipeline.run(request, state)[0].wire_bytes()
        assert pipeline.run(make(request), state)[0].wire_bytes() == first == fresh_bytes(request)


def test_the_conversations_kept_stay_under_their_budget() -> None:
    budget = 150_000
    pipeline = build_pipeline()
    pipeline.sessions = SessionStates(conversations=Conversations(budget_chars=budget, max_sessions=8))
    store = pipeline.sessions.conversations
    sessions = [decoded("claude-itsdangerous"), decoded("codex-humanize"), decoded("claude-humanize")]
    for turn in range(12):
        for n, requests in enumerate(sessions * 4):
            request = requests[min(turn, len(requests) - 1)]
            assert pipeline.run(request, pipeline.session(f"s{n}"))[0].wire_bytes() == fresh_bytes(request)
            assert store.chars <= max(budget, max(c.chars for c in store._recent.values()))
            assert len(store) <= 8 * 4
    assert store.chars <= budget
