"""Bad input and bad upstreams: a clear error in the client's own format, and always a ledger row."""

from __future__ import annotations

import time

import anthropic
import httpx
import openai
import pytest

from lynkr_cli.providers.base import ProviderSet
from lynkr_cli.routing.static import StaticRouter
from tests.conftest import FAKE_ANTHROPIC_KEY, FAKE_OPENAI_KEY, base_env, run_lynkr, running_proxy
from tests.fakes.anthropic import Turn, error_reply, messages_handler, reply_for
from tests.fakes.openai import chat_stream, openai_error
from tests.fakes.server import FakeUpstream, Reply

HTML = b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"


def _rows(ctx):
    rows: list = []
    ctx.listeners.append(rows.append)
    return rows


def _wait(rows, n=1):
    deadline = time.monotonic() + 5
    while len(rows) < n and time.monotonic() < deadline:
        time.sleep(0.005)
    return rows


def _proxy(tmp_path, upstream_url, provider, model, env=None, **overrides):
    providers = ProviderSet(env or {}, {provider: {"base_url": upstream_url, **overrides}})
    return running_proxy(upstream_url, tmp_path / "l.db", providers=providers, router=StaticRouter(provider, model))


def test_missing_key_is_named_in_the_clients_format(tmp_path):
    with FakeUpstream(lambda r: Reply(status=500)) as upstream:
        with _proxy(tmp_path, upstream.url, "openrouter", "some/model") as (base, ctx, _):
            rows = _rows(ctx)
            client = anthropic.Anthropic(base_url=base, api_key=FAKE_ANTHROPIC_KEY, max_retries=0)
            with pytest.raises(anthropic.BadRequestError) as info:
                client.messages.create(model="x", max_tokens=5, messages=[{"role": "user", "content": "hi"}])
            chat = openai.OpenAI(base_url=base + "/v1", api_key=FAKE_OPENAI_KEY, max_retries=0)
            with pytest.raises(openai.BadRequestError) as chat_info:
                chat.chat.completions.create(model="x", messages=[{"role": "user", "content": "hi"}])
            _wait(rows, 2)
        assert not upstream.received
    assert "OPENROUTER_API_KEY" in info.value.message and info.value.body["error"]["type"] == "invalid_request_error"
    assert "OPENROUTER_API_KEY" in chat_info.value.message
    assert [r.status for r in rows] == [400, 400] and all("OPENROUTER_API_KEY" in r.error for r in rows)
    assert rows[1].inbound_format == "openai-chat"


def test_unknown_provider_from_a_route(tmp_path):
    with running_proxy("http://127.0.0.1:9", tmp_path / "l.db", router=StaticRouter("nosuch", "m")) as (base, ctx, _):
        rows = _rows(ctx)
        response = httpx.post(f"{base}/v1/responses", json={"model": "m", "input": "hi"})
        _wait(rows)
    assert response.status_code == 400
    assert "unknown provider 'nosuch'" in response.json()["error"]["message"]
    assert rows[0].status == 400 and "nosuch" in rows[0].error


def test_malformed_json_on_openai_routes(tmp_path):
    with running_proxy("http://127.0.0.1:9", tmp_path / "l.db") as (base, ctx, _):
        rows = _rows(ctx)
        response = httpx.post(f"{base}/v1/chat/completions", content=b"{not json",
                              headers={"content-type": "application/json"})
        _wait(rows)
    assert response.status_code == 400 and response.json()["error"]["type"] == "invalid_request_error"
    assert rows[0].route == "/v1/chat/completions" and rows[0].error


@pytest.mark.parametrize("status", [200, 502])
def test_html_from_the_upstream_becomes_an_api_error(tmp_path, status):
    html = Reply(status=status, headers={"content-type": "text/html"}, body=HTML)
    with FakeUpstream(lambda r: html) as upstream:
        # Translated (Anthropic client -> OpenAI-compatible) and same-format (Anthropic -> Anthropic).
        for provider, model in (("openai-compatible", "m"), ("anthropic", "claude-x")):
            with _proxy(tmp_path, upstream.url, provider, model, {"ANTHROPIC_API_KEY": "k"}) as (base, ctx, _):
                rows = _rows(ctx)
                client = anthropic.Anthropic(base_url=base, api_key=FAKE_ANTHROPIC_KEY, max_retries=0)
                with pytest.raises(anthropic.APIStatusError) as info:
                    client.messages.create(model="x", max_tokens=5, messages=[{"role": "user", "content": "hi"}])
                _wait(rows)
            assert info.value.status_code == 502
            assert "HTML page (502 Bad Gateway)" in info.value.message and "base URL" in info.value.message
            assert rows[0].status == 502 and "HTML" in rows[0].error


def test_upstream_rate_limit_keeps_status_and_message(tmp_path):
    limited = openai_error(429, "Rate limit reached for requests", "requests")
    with FakeUpstream(lambda r: limited) as upstream:
        with _proxy(tmp_path, upstream.url, "openai-compatible", "m") as (base, ctx, _):
            rows = _rows(ctx)
            client = anthropic.Anthropic(base_url=base, api_key=FAKE_ANTHROPIC_KEY, max_retries=0)
            with pytest.raises(anthropic.RateLimitError) as info:
                client.messages.create(model="x", max_tokens=5, messages=[{"role": "user", "content": "hi"}])
            _wait(rows)
    assert "Rate limit reached" in info.value.message and info.value.body["error"]["type"] == "rate_limit_error"
    assert rows[0].status == 429


def test_cut_stream_ends_with_an_error_event_for_each_client(tmp_path):
    def handler(request):
        return Reply(headers={"content-type": "text/event-stream"}, chunks=chat_stream(Turn(text="a b c d e f"), "m"),
                     cut_after=3)

    with FakeUpstream(handler) as upstream:
        with _proxy(tmp_path, upstream.url, "openai-compatible", "m") as (base, ctx, _):
            rows = _rows(ctx)
            client = anthropic.Anthropic(base_url=base, api_key=FAKE_ANTHROPIC_KEY, max_retries=0)
            with pytest.raises(anthropic.APIError) as info:
                with client.messages.stream(model="x", max_tokens=5,
                                            messages=[{"role": "user", "content": "hi"}]) as stream:
                    stream.get_final_message()
            responses = openai.OpenAI(base_url=base + "/v1", api_key=FAKE_OPENAI_KEY, max_retries=0)
            kinds = [e.type for e in responses.responses.create(model="m", input="hi", stream=True)]
            _wait(rows, 2)
    assert "ended before the response was complete" in str(info.value) or "broke" in str(info.value)
    assert kinds[0] == "response.created" and kinds[-1] == "response.failed"
    assert all(r.error for r in rows) and len(rows) == 2


@pytest.mark.parametrize("model, message", [
    ("nosuch:m", "unknown provider 'nosuch'"),
    ("claude-sonnet", "expected PROVIDER:MODEL"),
    ("openrouter:qwen/qwen3-coder", "set OPENROUTER_API_KEY"),
])
def test_bad_model_flag_fails_before_the_agent_starts(tmp_path, model, message):
    marker = tmp_path / "started"
    result = run_lynkr(["run", "--model", model, "--", "touch", str(marker)], base_env(tmp_path / "lh"))
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not marker.exists()


def test_models_and_count_tokens_with_a_non_anthropic_model(tmp_path):
    with FakeUpstream(lambda r: Reply(status=500)) as upstream:
        with _proxy(tmp_path, upstream.url, "ollama", "qwen2.5-coder:7b") as (base, ctx, _):
            rows = _rows(ctx)
            client = anthropic.Anthropic(base_url=base, api_key=FAKE_ANTHROPIC_KEY, max_retries=0)
            count = client.messages.count_tokens(model="claude-x", messages=[{"role": "user", "content": "hello world"}])
            models = client.models.list()
            oai_models = openai.OpenAI(base_url=base + "/v1", api_key=FAKE_OPENAI_KEY, max_retries=0).models.list()
            _wait(rows)
        assert not upstream.received  # answered by lynkr: Ollama has neither endpoint in this shape
    assert 0 < count.input_tokens < 10
    assert [m.id for m in models.data] == ["qwen2.5-coder:7b"] == [m.id for m in oai_models.data]
    assert rows[0].route == "/v1/messages/count_tokens" and rows[0].status == 200


def test_chatgpt_login_goes_to_the_codex_backend():
    from lynkr_cli.canonical import ModelRequest
    from lynkr_cli.providers import resolve_provider

    request = ModelRequest(body={"model": "gpt-5", "input": "hi"}, inbound="openai-responses", raw=b"{}")
    login = {"authorization": "Bearer eyJ-chatgpt-token", "chatgpt-account-id": "acct-1"}
    call = resolve_provider("openai", {}).build_call(request, "gpt-5", login)
    assert call.url == "https://chatgpt.com/backend-api/codex/responses"
    assert ("chatgpt-account-id", "acct-1") in call.headers and ("authorization", login["authorization"]) in call.headers
    keyed = resolve_provider("openai", {}).build_call(request, "gpt-5", {"authorization": "Bearer sk-x"})
    assert keyed.url == "https://api.openai.com/v1/responses"


def test_a_model_lynkr_chose_that_the_upstream_lacks_is_named_as_such(tmp_path):
    """A tier routes Claude Code's request to a model the upstream does not have. Passed on as a 404,
    Claude Code would tell the user that *its* model may not exist; the client gets a 400 naming the
    model lynkr chose and the upstream's message. A model the client itself asked for stays a 404."""

    def no_such_model(request, body):  # type: ignore[no-untyped-def]
        if body["model"] == "claude-tier-typo":
            return error_reply(404, "not_found_error", "model: claude-tier-typo")
        return reply_for(Turn(text="fine"), request)

    with FakeUpstream(messages_handler(no_such_model)) as upstream:
        with _proxy(tmp_path, upstream.url, "anthropic", "claude-tier-typo",
                    env={"ANTHROPIC_API_KEY": FAKE_ANTHROPIC_KEY}) as (base, ctx, _):
            rows = _rows(ctx)
            client = anthropic.Anthropic(base_url=base, api_key=FAKE_ANTHROPIC_KEY, max_retries=0)
            for stream in (False, True):
                with pytest.raises(anthropic.BadRequestError) as info:
                    client.messages.create(model="claude-opus-4-8", max_tokens=5, stream=stream,
                                           messages=[{"role": "user", "content": "hi"}])
                assert "claude-tier-typo" in info.value.message and "instead of 'claude-opus-4-8'" in info.value.message
            _wait(rows, 2)
    assert [r.status for r in rows] == [400, 400]
    assert all("claude-tier-typo" in r.error for r in rows)

    with FakeUpstream(messages_handler(no_such_model)) as upstream:
        with running_proxy(upstream.url, tmp_path / "l2.db") as (base, ctx, _):
            client = anthropic.Anthropic(base_url=base, api_key=FAKE_ANTHROPIC_KEY, max_retries=0)
            with pytest.raises(anthropic.NotFoundError):
                client.messages.create(model="claude-tier-typo", max_tokens=5,
                                       messages=[{"role": "user", "content": "hi"}])
