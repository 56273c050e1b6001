"""Every inbound API x every upstream format, streaming and not, with the official SDKs as clients.

The fake upstreams speak each provider's real wire protocol; each answers with text plus two parallel
tool calls and known usage, so a test can check the SDK parsed every event into the right final
message, ids preserved, and that the ledger names the provider and model actually used.
"""

from __future__ import annotations

import json

import anthropic
import openai
import pytest

from lynkr_cli.providers.base import ProviderPreset, ProviderSet, register
from lynkr_cli.providers.openai import OpenAIProvider
from lynkr_cli.routing.static import StaticRouter
from tests.conftest import FAKE_ANTHROPIC_KEY, FAKE_OPENAI_KEY, running_proxy
from tests.fakes.anthropic import Turn, messages_handler, reply_for
from tests.fakes.ollama import ollama_handler
from tests.fakes.openai import openai_handler
from tests.fakes.server import FakeUpstream

TOOLS_SCHEMA = {"type": "object", "properties": {"city": {"type": "string", "description": "City name"},
                                                 "unit": {"anyOf": [{"const": "c"}, {"const": "f"}]}},
                "required": ["city"], "additionalProperties": False}
TURN = Turn(text="Checking both cities", tool_calls=[("get_weather", {"city": "Paris"}),
                                                      ("get_weather", {"city": "Oslo", "unit": "c"})],
            input_tokens=120, output_tokens=30, cache_read_tokens=40)


class ResponsesOnlyProvider(OpenAIProvider):
    """An upstream that speaks only Responses, so Chat clients are translated into it."""

    wire_formats = ("openai-responses",)
    client_auth_formats = ()


register(ProviderPreset("test-responses", ResponsesOnlyProvider, None, (), ("TEST_RESPONSES_KEY",),
                        description="test only"))

PROVIDERS = {  # provider id -> (model, upstream wire format)
    "anthropic": ("claude-test", "anthropic"),
    "openai": ("gpt-test", None),  # answers in the client's OpenAI format; Anthropic clients get Responses
    "openai-compatible": ("compat-test", "openai-chat"),
    "test-responses": ("resp-test", "openai-responses"),
    "ollama": ("qwen-test:7b", "ollama"),
}


@pytest.fixture(scope="module")
def proxy(tmp_path_factory):
    respond = lambda request, body: TURN  # noqa: E731
    anthropic_fake = FakeUpstream(messages_handler(lambda request, body: reply_for(TURN, request)))
    openai_fake = FakeUpstream(openai_handler(respond))
    ollama_fake = FakeUpstream(ollama_handler(respond))
    with anthropic_fake, openai_fake, ollama_fake:
        providers = ProviderSet(
            {"ANTHROPIC_API_KEY": FAKE_ANTHROPIC_KEY, "OPENAI_API_KEY": FAKE_OPENAI_KEY,
             "TEST_RESPONSES_KEY": FAKE_OPENAI_KEY},
            {"anthropic": {"base_url": anthropic_fake.url}, "openai": {"base_url": openai_fake.url + "/v1"},
             "openai-compatible": {"base_url": openai_fake.url + "/v1"},
             "test-responses": {"base_url": openai_fake.url + "/v1"}, "ollama": {"base_url": ollama_fake.url}},
        )
        ledger_path = tmp_path_factory.mktemp("matrix") / "ledger.db"
        with running_proxy(anthropic_fake.url, ledger_path, providers=providers) as (base_url, ctx, ledger):
            yield base_url, ctx, ledger, {"anthropic": anthropic_fake, "openai": openai_fake, "ollama": ollama_fake}


def _last_row(ctx):
    rows = []
    ctx.listeners.append(rows.append)
    return rows


def _wait_for(rows, timeout=5.0):
    """The ledger row is written when the relay finishes, a moment after the client has the body."""
    import time

    deadline = time.monotonic() + timeout
    while not rows and time.monotonic() < deadline:
        time.sleep(0.005)


def _check_calls(calls):
    """Two parallel tool calls, in order, with the upstream's ids and exact arguments."""
    assert [(name, args) for _, name, args in calls] == [("get_weather", {"city": "Paris"}),
                                                         ("get_weather", {"city": "Oslo", "unit": "c"})]
    ids = [i for i, _, _ in calls]
    assert len(set(ids)) == 2 and all(ids)


def call_anthropic(base_url, model, stream):
    client = anthropic.Anthropic(base_url=base_url, api_key=FAKE_ANTHROPIC_KEY, max_retries=0)
    kwargs = dict(model=model, max_tokens=100, messages=[{"role": "user", "content": "weather in Paris and Oslo?"}],
                  tools=[{"name": "get_weather", "description": "Weather for a city", "input_schema": TOOLS_SCHEMA}])
    if stream:
        with client.messages.stream(**kwargs) as s:
            events = list(s)
            message = s.get_final_message()
        assert events
    else:
        message = client.messages.create(**kwargs)
    text = "".join(b.text for b in message.content if b.type == "text")
    calls = [(b.id, b.name, b.input) for b in message.content if b.type == "tool_use"]
    assert message.stop_reason == "tool_use"
    return text, calls, message.usage.output_tokens


def call_chat(base_url, model, stream):
    client = openai.OpenAI(base_url=base_url + "/v1", api_key=FAKE_OPENAI_KEY, max_retries=0)
    kwargs = dict(model=model, messages=[{"role": "system", "content": "be brief"},
                                         {"role": "user", "content": "weather in Paris and Oslo?"}],
                  tools=[{"type": "function", "function": {"name": "get_weather", "description": "Weather for a city",
                                                           "parameters": TOOLS_SCHEMA}}])
    if stream:
        text, calls, finish, usage = "", {}, None, None
        for chunk in client.chat.completions.create(stream=True, stream_options={"include_usage": True}, **kwargs):
            usage = chunk.usage or usage
            for choice in chunk.choices:
                text += choice.delta.content or ""
                finish = choice.finish_reason or finish
                for call in choice.delta.tool_calls or []:
                    entry = calls.setdefault(call.index, [None, None, ""])
                    entry[0] = call.id or entry[0]
                    entry[1] = (call.function.name if call.function else None) or entry[1]
                    entry[2] += (call.function.arguments if call.function else "") or ""
        tool_calls = [(i, n, json.loads(a)) for i, n, a in calls.values()]
        return text, tool_calls, usage.completion_tokens if usage else None, finish
    completion = client.chat.completions.create(**kwargs)
    message = completion.choices[0].message
    tool_calls = [(c.id, c.function.name, json.loads(c.function.arguments)) for c in message.tool_calls or []]
    return message.content or "", tool_calls, completion.usage.completion_tokens, completion.choices[0].finish_reason


def call_responses(base_url, model, stream):
    client = openai.OpenAI(base_url=base_url + "/v1", api_key=FAKE_OPENAI_KEY, max_retries=0)
    kwargs = dict(model=model, instructions="be brief", input="weather in Paris and Oslo?",
                  tools=[{"type": "function", "name": "get_weather", "description": "Weather for a city",
                          "parameters": TOOLS_SCHEMA, "strict": False}])
    if stream:
        with client.responses.stream(**kwargs) as s:
            kinds = [event.type for event in s]
            response = s.get_final_response()
        assert kinds[0] == "response.created" and kinds[-1] == "response.completed"
    else:
        response = client.responses.create(**kwargs)
    text = "".join(c.text for item in response.output if item.type == "message" for c in item.content)
    calls = [(i.call_id, i.name, json.loads(i.arguments)) for i in response.output if i.type == "function_call"]
    return text, calls, response.usage.output_tokens


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("provider", list(PROVIDERS))
@pytest.mark.parametrize("inbound", ["anthropic", "openai-chat", "openai-responses"])
def test_every_inbound_api_with_every_upstream(proxy, inbound, provider, stream):
    base_url, ctx, ledger, fakes = proxy
    model, wire = PROVIDERS[provider]
    ctx.router = StaticRouter(provider, model)
    rows = _last_row(ctx)
    try:
        if inbound == "anthropic":
            text, calls, output_tokens = call_anthropic(base_url, model, stream)
        elif inbound == "openai-chat":
            text, calls, output_tokens, finish = call_chat(base_url, model, stream)
            assert finish == "tool_calls"
        else:
            text, calls, output_tokens = call_responses(base_url, model, stream)
        _wait_for(rows)
    finally:
        ctx.listeners.clear()
    assert text == "Checking both cities"
    _check_calls(calls)
    assert output_tokens == 30
    (row,) = rows
    assert row.status == 200 and row.error is None
    assert row.provider == provider and row.model_used == model
    assert row.output_tokens == 30
    if provider != "ollama":  # Ollama reports no cache figures
        assert row.cache_read_tokens == 40 and row.input_tokens == 120
    expected_wire = wire or ("openai-responses" if inbound == "anthropic" else inbound)
    assert row.details["provider"]["wire"] == expected_wire
    assert row.details["provider"]["translated"] == (expected_wire != inbound)
    # The tool's schema reached the upstream whole (anyOf/const/descriptions kept).
    upstream = fakes["anthropic" if provider == "anthropic" else "ollama" if provider == "ollama" else "openai"]
    sent = upstream.received[-1].json
    tools = sent["tools"]
    schema = tools[0].get("input_schema") or tools[0].get("parameters") or tools[0]["function"]["parameters"]
    assert schema == TOOLS_SCHEMA
