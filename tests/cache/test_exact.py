"""Exact cache through the real proxy: identical requests are answered once, anything else is asked."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.cache.conftest import Answers, settle, watch_records
from tests.conftest import FAKE_ANTHROPIC_KEY
from tests.fakes.anthropic import Turn
from tests.fakes.server import FakeUpstream

BASE = {
    "model": "claude-sonnet-4-6",
    "max_tokens": 100,
    "system": [{"type": "text", "text": "You are a terse code reviewer.", "cache_control": {"type": "ephemeral"}}],
    "tools": [{"name": "Read", "description": "Read a file", "input_schema": {"type": "object",
                                                                             "properties": {"path": {"type": "string"}}}}],
    "messages": [{"role": "user", "content": "What does git rebase --onto do?"}],
}


def ask(client, body=None, **changes):  # type: ignore[no-untyped-def]
    body = {**BASE, **(body or {}), **changes}
    raw = client.messages.with_raw_response.create(**body)
    return raw.parse(), raw.headers.get("x-lynkr-cache")


def streamed_text(body: bytes) -> str:
    """The text an Anthropic event stream spells out."""
    text = []
    for line in body.decode().splitlines():
        if line.startswith("data:"):
            event = json.loads(line[5:])
            if event.get("type") == "content_block_delta" and event["delta"].get("type") == "text_delta":
                text.append(event["delta"]["text"])
    return "".join(text)


def ledger_cache_details(ctx) -> list[dict]:  # type: ignore[no-untyped-def]
    from lynkr_cli.ledger import LedgerReader

    ctx.ledger.flush()
    reader = LedgerReader(ctx.ledger.path)
    try:
        return [r["details"].get("cache") for r in reader.requests(ctx.session_id) if r["route"] == "/v1/messages"]
    finally:
        reader.close()


def test_identical_request_is_served_from_cache_with_zero_usage(cached_proxy, answers: Answers):
    with cached_proxy() as (client, base_url, ctx):
        first, first_header = ask(client)
        settle(ctx)
        second, second_header = ask(client)
        details = ledger_cache_details(ctx)
    assert answers.calls == 1
    assert (first_header, second_header) == ("miss", "hit-exact")
    assert second.content[0].text == first.content[0].text == "answer number 1"
    assert second.id != first.id
    assert (second.usage.input_tokens, second.usage.output_tokens) == (0, 0)
    assert not second.usage.cache_read_input_tokens and not second.usage.cache_creation_input_tokens
    assert details[0] == {"decision": "miss", "reason": "no stored answer"}
    hit = details[1]
    assert hit["decision"] == "hit-exact"
    assert (hit["saved_input_tokens"], hit["saved_output_tokens"]) == (6300, 200)
    # claude-sonnet-4-6 list price: 1000*3 + 200*15 + 5000*0.3 + 300*3.75 per million
    assert hit["saved_usd"] == pytest.approx((3000 + 3000 + 1500 + 1125) / 1e6)


def test_streamed_hit_is_a_proper_event_stream_for_the_sdk(cached_proxy, answers: Answers):
    answers.turn = Turn(text="Let me read it.", tool_calls=[("Read", {"path": "src/app.py", "limit": 40})])
    with cached_proxy() as (client, base_url, ctx):
        with client.messages.stream(**BASE) as stream:
            first = stream.get_final_message()
        settle(ctx)
        with client.messages.with_streaming_response.create(**BASE, stream=True) as raw:
            assert raw.headers["x-lynkr-cache"] == "hit-exact"
            assert raw.headers["content-type"].startswith("text/event-stream")
        with client.messages.stream(**BASE) as stream:
            events = [event.type for event in stream]
            second = stream.get_final_message()
    assert answers.calls == 1
    assert events[0] == "message_start" and events[-1] == "message_stop"
    assert [b.model_dump() for b in second.content] == [b.model_dump() for b in first.content]
    assert second.content[1].input == {"path": "src/app.py", "limit": 40}
    assert second.stop_reason == "tool_use"
    assert (second.usage.input_tokens, second.usage.output_tokens) == (0, 0)


def test_streamed_answer_serves_a_plain_request_and_back(cached_proxy, answers: Answers):
    with cached_proxy() as (client, base_url, ctx):
        with client.messages.stream(**BASE) as stream:
            streamed = stream.get_final_message()
        settle(ctx)
        plain, header = ask(client)
    assert header == "hit-exact" and answers.calls == 1
    assert plain.content[0].text == streamed.content[0].text


@pytest.mark.parametrize(
    "change",
    [
        {"system": "You are a pirate. Answer in pirate speak."},
        {"model": "claude-haiku-4-5"},
        {"tools": []},
        {"tools": [{**BASE["tools"][0], "description": "Read a file from disk"}]},
        {"tool_choice": {"type": "any"}},
        {"extra_body": {"temperature": 0.0}},
        {"max_tokens": 101},
        {"messages": [{"role": "user", "content": "Explain rebasing."},
                      {"role": "assistant", "content": "Rebasing replays commits."},
                      {"role": "user", "content": "What does git rebase --onto do?"}]},
        {"messages": [{"role": "user", "content": "What does git rebase --onto  do?"}]},
    ],
    ids=["system", "model", "no-tools", "tool-description", "tool_choice", "temperature", "max_tokens",
         "earlier-turn", "one-space"],
)
def test_anything_that_can_change_the_answer_misses(cached_proxy, answers: Answers, change):
    with cached_proxy() as (client, base_url, ctx):
        ask(client)
        settle(ctx)
        second, header = ask(client, change)
    assert header == "miss" and answers.calls == 2
    assert second.content[0].text == "answer number 2"


def test_cache_markers_and_metadata_do_not_split_the_key(cached_proxy, answers: Answers):
    """Claude Code moves cache_control every turn and labels requests with its session id."""
    with cached_proxy() as (client, base_url, ctx):
        ask(client, metadata={"user_id": json.dumps({"session_id": "one"})})
        settle(ctx)
        moved = {"system": [{"type": "text", "text": "You are a terse code reviewer."}],
                 "metadata": {"user_id": json.dumps({"session_id": "two"})}}
        _, header = ask(client, moved)
    assert header == "hit-exact" and answers.calls == 1


def test_different_upstream_or_beta_flags_miss(cached_proxy, answers: Answers, tmp_path):
    cache_file = tmp_path / "shared-cache.sqlite3"
    with cached_proxy(cache_path=cache_file) as (client, base_url, ctx):
        ask(client)
        settle(ctx)
        raw = httpx.post(f"{base_url}/v1/messages", json=BASE, headers={
            "x-api-key": FAKE_ANTHROPIC_KEY, "anthropic-version": "2023-06-01", "anthropic-beta": "some-feature"})
        assert raw.headers["x-lynkr-cache"] == "miss"
    other = Answers()
    with FakeUpstream(__import__("tests.fakes.anthropic", fromlist=["x"]).messages_handler(other)) as second_upstream:
        from lynkr_cli.cache.service import ResponseCache
        from tests.conftest import running_proxy

        cache = ResponseCache("exact", cache_file)
        with running_proxy(second_upstream.url, tmp_path / "l2.sqlite3", cache=cache) as (url2, ctx2, _):
            raw = httpx.post(f"{url2}/v1/messages", json=BASE, headers={
                "x-api-key": FAKE_ANTHROPIC_KEY, "anthropic-version": "2023-06-01"})
        cache.close()
    assert raw.headers["x-lynkr-cache"] == "miss" and other.calls == 1


def test_every_response_carries_the_header(cached_proxy, answers: Answers, tmp_path):
    with cached_proxy() as (client, base_url, ctx):
        headers = {"x-api-key": FAKE_ANTHROPIC_KEY, "anthropic-version": "2023-06-01"}
        count = httpx.post(f"{base_url}/v1/messages/count_tokens", json=BASE, headers=headers)
        bad = httpx.post(f"{base_url}/v1/messages", content=b"{not json",
                         headers={**headers, "content-type": "application/json"})
        health = httpx.get(f"{base_url}/")
        server_tool = httpx.post(f"{base_url}/v1/messages", headers=headers, json={
            **BASE, "tools": [{"type": "web_search_20250305", "name": "web_search"}]})
    assert count.headers["x-lynkr-cache"] == "skip"
    assert bad.status_code == 400 and bad.headers["x-lynkr-cache"] == "skip"
    assert health.headers["x-lynkr-cache"] == "skip"
    assert server_tool.headers["x-lynkr-cache"] == "skip"
    details = ledger_cache_details(ctx)
    assert details[-1]["decision"] == "skip" and "server tools" in details[-1]["reason"]


def test_cache_off_asks_every_time(cached_proxy, answers: Answers, tmp_path):
    from lynkr_cli.proxy.components import NoCache

    with cached_proxy() as (client, base_url, ctx):
        ctx.cache = NoCache()
        ask(client)
        _, header = ask(client)
        details = ledger_cache_details(ctx)
    assert header == "skip" and answers.calls == 2
    assert details[-1] == {"decision": "skip", "reason": "cache off"}


def test_failed_or_broken_answers_are_not_stored(tmp_path):
    from lynkr_cli.cache.service import ResponseCache
    from tests.conftest import running_proxy
    from tests.fakes.anthropic import error_reply, messages_handler, reply_for

    calls = []

    def respond(request, body):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 1:
            return error_reply(529, "overloaded_error", "Overloaded")
        if len(calls) == 2:
            return reply_for(Turn(text="cut short here"), request, cut_after=4)
        return reply_for(Turn(text=f"complete answer {len(calls)}"), request)

    cache = ResponseCache("exact", tmp_path / "c.sqlite3")
    headers = {"x-api-key": FAKE_ANTHROPIC_KEY, "anthropic-version": "2023-06-01"}
    with FakeUpstream(messages_handler(respond)) as upstream, \
            running_proxy(upstream.url, tmp_path / "l.sqlite3", cache=cache) as (base_url, ctx, _):
        watch_records(ctx)
        results = []
        for _ in range(4):
            with httpx.stream("POST", f"{base_url}/v1/messages", json={**BASE, "stream": True}, headers=headers) as r:
                body = b"".join(r.iter_raw())
            settle(ctx)
            results.append((r.status_code, r.headers["x-lynkr-cache"], streamed_text(body) == "complete answer 3"))
    cache.close()
    assert results == [(529, "miss", False), (200, "miss", False), (200, "miss", True), (200, "hit-exact", True)]
