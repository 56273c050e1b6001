"""The proxy as an Anthropic client sees it: the official SDK, streaming and not, through lynkr."""

from __future__ import annotations

import json

import anthropic
import httpx
import pytest

from tests.conftest import FAKE_ANTHROPIC_KEY, running_proxy
from tests.fakes.anthropic import Turn, error_reply, messages_handler, reply_for
from tests.fakes.server import FakeUpstream


def respond(request, body):
    return reply_for(Turn(text="pong", input_tokens=11, output_tokens=2, cache_read_tokens=5), request)


@pytest.fixture
def upstream():
    with FakeUpstream(messages_handler(respond)) as server:
        yield server


def test_sdk_non_streaming_and_streaming(upstream, tmp_path):
    with running_proxy(upstream.url, tmp_path / "l.db") as (base_url, ctx, ledger):
        client = anthropic.Anthropic(base_url=base_url, api_key=FAKE_ANTHROPIC_KEY, max_retries=0)
        message = client.messages.create(model="claude-haiku-4-5", max_tokens=10,
                                         messages=[{"role": "user", "content": "ping"}])
        assert message.content[0].text == "pong" and message.usage.cache_read_input_tokens == 5
        with client.messages.stream(model="claude-haiku-4-5", max_tokens=10,
                                    messages=[{"role": "user", "content": "ping"}]) as stream:
            final = stream.get_final_message()
        assert final.content[0].text == "pong" and final.usage.output_tokens == 2


def test_original_bytes_and_api_headers_are_forwarded(upstream, tmp_path):
    body = b'{"model":"claude-x","max_tokens":5,  "messages":[{"role":"user","content":"\\u00e9"}],"zz_unknown":1}'
    headers = {"x-api-key": FAKE_ANTHROPIC_KEY, "anthropic-version": "2023-06-01",
               "anthropic-beta": "prompt-caching-2024-07-31", "authorization": "Bearer user-oauth-token",
               "x-claude-code-session-id": "abc", "content-type": "application/json"}
    with running_proxy(upstream.url, tmp_path / "l.db") as (base_url, ctx, ledger):
        response = httpx.post(f"{base_url}/v1/messages?beta=true", content=body, headers=headers)
    assert response.status_code == 200
    (received,) = upstream.requests_to("/v1/messages")
    assert received.body == body
    assert received.path == "/v1/messages?beta=true"
    for key, value in headers.items():
        assert received.headers[key] == value


def test_other_api_paths_pass_through(upstream, tmp_path):
    with running_proxy(upstream.url, tmp_path / "l.db") as (base_url, ctx, ledger):
        client = anthropic.Anthropic(base_url=base_url, api_key=FAKE_ANTHROPIC_KEY, max_retries=0)
        count = client.messages.count_tokens(model="claude-x", messages=[{"role": "user", "content": "hi"}])
        models = client.models.list()
        health = httpx.head(f"{base_url}/")
    assert count.input_tokens == 42
    assert [m.id for m in models.data] == ["claude-sonnet-4-5"]
    assert health.status_code == 200


def test_requests_without_the_session_token_get_401(upstream, tmp_path):
    with running_proxy(upstream.url, tmp_path / "l.db", token="secret-token") as (base_url, ctx, ledger):
        root = base_url.rsplit("/s/", 1)[0]
        for url in (f"{root}/v1/messages", f"{root}/s/wrong-token/v1/messages", f"{root}/s/secret-token-x/v1/messages"):
            response = httpx.post(url, json={})
            assert response.status_code == 401
            assert response.json()["error"]["type"] == "authentication_error"
    assert upstream.received == []


def test_upstream_error_status_and_body_are_relayed(tmp_path):
    def fail(request, body):
        return error_reply(529, "overloaded_error", "Overloaded", {"retry-after": "7"})

    with FakeUpstream(messages_handler(fail)) as upstream, \
            running_proxy(upstream.url, tmp_path / "l.db") as (base_url, ctx, ledger):
        client = anthropic.Anthropic(base_url=base_url, api_key=FAKE_ANTHROPIC_KEY, max_retries=0)
        with pytest.raises(anthropic.APIStatusError) as info:
            client.messages.create(model="m", max_tokens=1, messages=[{"role": "user", "content": "x"}])
    assert info.value.status_code == 529
    assert info.value.response.headers["retry-after"] == "7"
    assert info.value.body["error"]["type"] == "overloaded_error"


def test_unreachable_upstream_is_an_anthropic_error_naming_it(tmp_path):
    with running_proxy("http://127.0.0.1:9", tmp_path / "l.db") as (base_url, ctx, ledger):
        client = anthropic.Anthropic(base_url=base_url, api_key=FAKE_ANTHROPIC_KEY, max_retries=0)
        with pytest.raises(anthropic.APIStatusError) as info:
            client.messages.create(model="m", max_tokens=1, messages=[{"role": "user", "content": "x"}])
    assert info.value.status_code == 502
    assert "127.0.0.1:9" in info.value.body["error"]["message"]
    assert FAKE_ANTHROPIC_KEY not in json.dumps(info.value.body)


def test_oversized_and_malformed_bodies_get_clear_anthropic_errors(upstream, tmp_path):
    with running_proxy(upstream.url, tmp_path / "l.db", max_body_bytes=1000) as (base_url, ctx, ledger):
        json_body = {"content-type": "application/json"}
        big = httpx.post(f"{base_url}/v1/messages", content=b"{" + b" " * 2000 + b"}", headers=json_body)
        bad = httpx.post(f"{base_url}/v1/messages", content=b"{not json", headers=json_body)
    assert big.status_code == 413 and big.json()["error"]["type"] == "request_too_large"
    assert "1000" in big.json()["error"]["message"]
    assert bad.status_code == 400 and "not valid JSON" in bad.json()["error"]["message"]
    assert upstream.received == []
