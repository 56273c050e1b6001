"""Faults seen by OpenAI clients (Chat Completions, Responses): errors arrive in the OpenAI format."""

from __future__ import annotations

import socket

import openai
import pytest

from lynkr_cli.providers.base import ProviderSet
from tests.conftest import FAKE_OPENAI_KEY
from tests.fakes.anthropic import Turn
from tests.fakes.openai import chat_stream, openai_error, openai_handler
from tests.fakes.server import FakeUpstream, Reply

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}


def providers(url: str) -> ProviderSet:
    return ProviderSet({"OPENAI_BASE_URL": f"{url}/v1", "OPENAI_API_KEY": FAKE_OPENAI_KEY},
                       {"anthropic": {"base_url": url}})


def client(proxy) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{proxy.base_url}/v1", api_key=FAKE_OPENAI_KEY, max_retries=0)


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_429_reaches_a_chat_client_as_rate_limit_error(proxy_for, stream):
    reply = openai_error(429, "Rate limit reached for gpt-4o-mini", "requests")
    reply.headers["retry-after"] = "3"
    with FakeUpstream(openai_handler(lambda r, body: reply)) as upstream, \
            proxy_for(upstream.url, providers=providers(upstream.url)) as proxy:
        baseline = proxy.task_count()
        with client(proxy) as sdk, pytest.raises(openai.RateLimitError) as caught:
            result = sdk.chat.completions.create(**CHAT, stream=stream)
            if stream:
                list(result)
        assert caught.value.response.headers.get("retry-after") == "3"
        assert "Rate limit reached" in caught.value.message
        assert proxy.settle_tasks(baseline) <= baseline
        (row,) = proxy.rows()
    assert row["status"] == 429


def test_unreachable_openai_upstream_is_an_openai_format_502(proxy_for):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    with proxy_for(dead, providers=providers(dead)) as proxy:
        baseline = proxy.task_count()
        with client(proxy) as sdk, pytest.raises(openai.InternalServerError) as caught:
            sdk.chat.completions.create(**CHAT)
        assert caught.value.status_code == 502
        body = caught.value.body
        assert isinstance(body, dict) and body["message"].startswith("lynkr: ") and "ConnectError" in body["message"]
        assert proxy.settle_tasks(baseline) <= baseline
        (row,) = proxy.rows()
    assert row["status"] == 502


def test_cut_chat_stream_is_an_error_for_the_sdk(proxy_for):
    events = chat_stream(Turn(text="one two three four five"), "gpt-4o-mini")
    reply = Reply(headers={"content-type": "text/event-stream"}, chunks=events, cut_after=3)
    with FakeUpstream(openai_handler(lambda r, body: reply)) as upstream, \
            proxy_for(upstream.url, providers=providers(upstream.url)) as proxy:
        baseline = proxy.task_count()
        with client(proxy) as sdk, pytest.raises(openai.APIError) as caught:
            for _ in sdk.chat.completions.create(**CHAT, stream=True):
                pass
        assert "stream broke" in str(caught.value)
        assert proxy.settle_tasks(baseline) <= baseline
        (row,) = proxy.rows()
    assert "stream broke" in row["error"]
