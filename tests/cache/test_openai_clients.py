"""Cache hits for OpenAI clients: the official ``openai`` SDK parses a served answer, streamed or
not, in Chat Completions and Responses form, with zero usage and the ``x-lynkr-cache`` header."""

from __future__ import annotations

import json

import openai
import pytest

from lynkr_cli.routing.static import StaticRouter
from tests.cache.conftest import Answers, settle
from tests.conftest import FAKE_ANTHROPIC_KEY, FAKE_OPENAI_KEY
from tests.fakes.anthropic import Turn

MODEL = "claude-sonnet-4-6"


@pytest.fixture
def openai_proxy(cached_proxy, answers: Answers, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", FAKE_ANTHROPIC_KEY)  # lynkr holds the key for a translated call
    answers.turn = Turn(text="Checking the weather", tool_calls=[("get_weather", {"city": "Oslo"})],
                        input_tokens=120, output_tokens=30)
    with cached_proxy() as (client, base_url, ctx):
        ctx.router = StaticRouter("anthropic", MODEL)  # OpenAI clients answered by the Anthropic upstream
        yield openai.OpenAI(base_url=base_url + "/v1", api_key=FAKE_OPENAI_KEY, max_retries=0), ctx


TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "Weather for a city",
                                           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]


def chat(client, stream: bool):  # type: ignore[no-untyped-def]
    kwargs = dict(model=MODEL, messages=[{"role": "user", "content": "weather in Oslo?"}], tools=TOOLS)
    if stream:
        raw = client.chat.completions.with_raw_response.create(**kwargs, stream=True,
                                                                stream_options={"include_usage": True})
        chunks = list(raw.parse())
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        calls = [tc for c in chunks if c.choices for tc in c.choices[0].delta.tool_calls or []]
        args = "".join(tc.function.arguments or "" for tc in calls)
        usage = next((c.usage for c in chunks if c.usage), None)
        return raw.headers["x-lynkr-cache"], text, calls[0].function.name, json.loads(args), usage.completion_tokens
    raw = client.chat.completions.with_raw_response.create(**kwargs)
    completion = raw.parse()
    call = completion.choices[0].message.tool_calls[0]
    return (raw.headers["x-lynkr-cache"], completion.choices[0].message.content, call.function.name,
            json.loads(call.function.arguments), completion.usage.completion_tokens)


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_chat_completions_hit(openai_proxy, answers: Answers, stream: bool):
    client, ctx = openai_proxy
    first = chat(client, stream)
    settle(ctx)
    second = chat(client, stream)
    assert first == ("miss", "Checking the weather", "get_weather", {"city": "Oslo"}, 30)
    assert second == ("hit-exact", "Checking the weather", "get_weather", {"city": "Oslo"}, 0)
    assert answers.calls == 1


def responses(client, stream: bool):  # type: ignore[no-untyped-def]
    kwargs = dict(model=MODEL, instructions="be brief", input="weather in Oslo?",
                  tools=[{"type": "function", "name": "get_weather", "description": "Weather for a city",
                          "parameters": TOOLS[0]["function"]["parameters"], "strict": False}])
    if stream:
        with client.responses.with_streaming_response.create(**kwargs, stream=True) as raw:
            header = raw.headers["x-lynkr-cache"]
        with client.responses.stream(**kwargs) as s:
            kinds = [event.type for event in s]
            response = s.get_final_response()
        assert kinds[0] == "response.created" and kinds[-1] == "response.completed"
    else:
        raw = client.responses.with_raw_response.create(**kwargs)
        header, response = raw.headers["x-lynkr-cache"], raw.parse()
    text = "".join(c.text for item in response.output if item.type == "message" for c in item.content)
    calls = [(i.name, json.loads(i.arguments)) for i in response.output if i.type == "function_call"]
    return header, text, calls, response.usage.output_tokens


def test_responses_hit_streamed_and_not(openai_proxy, answers: Answers):
    client, ctx = openai_proxy
    first = responses(client, stream=False)
    settle(ctx)
    streamed = responses(client, stream=True)
    plain = responses(client, stream=False)
    assert first == ("miss", "Checking the weather", [("get_weather", {"city": "Oslo"})], 30)
    assert streamed == plain == ("hit-exact", "Checking the weather", [("get_weather", {"city": "Oslo"})], 0)
    assert answers.calls == 1


def test_streamed_chat_answer_serves_a_plain_request_and_several_choices_are_not_cached(openai_proxy, answers):
    client, ctx = openai_proxy
    chat(client, stream=True)
    settle(ctx)
    assert chat(client, stream=False)[0] == "hit-exact"
    raw = client.chat.completions.with_raw_response.create(
        model=MODEL, messages=[{"role": "user", "content": "weather in Oslo?"}], tools=TOOLS, n=2)
    assert raw.headers["x-lynkr-cache"] == "skip"
