"""Upstream faults on the OpenAI routes and on translated routes, seen through the official SDKs.

Six routes, each with the upstream misbehaving in every way ``test_upstream_faults`` checks for the
Anthropic pass-through:

- ``/v1/responses`` and ``/v1/chat/completions`` (OpenAI SDK) passed through to an OpenAI upstream;
- the same two clients translated to an Anthropic upstream (``--model anthropic:…``);
- an Anthropic client (anthropic SDK) translated to an OpenAI Chat upstream and to Ollama.

For each fault the user relies on: the SDK raises its own typed error with the status and a message
saying what happened (or a stream ends with an error the SDK surfaces), nothing hangs, no task is
left on the proxy's loop, and the ledger has exactly one row for the request with its status/error.
The proxy is shared by a module (one per timeout test), so the suite stays fast.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import anthropic
import openai
import pytest

from lynkr_cli.providers.base import ProviderSet
from lynkr_cli.routing.static import StaticRouter
from tests.conftest import FAKE_ANTHROPIC_KEY, FAKE_OPENAI_KEY
from tests.faults.conftest import start_proxy
from tests.fakes import ollama as fake_ollama
from tests.fakes import openai as fake_openai
from tests.fakes.anthropic import Turn, error_reply, message_json, stream_events
from tests.fakes.server import FakeUpstream, Received, Reply

TURN = Turn(text="one two three four five six", input_tokens=11, output_tokens=7)


@dataclass(frozen=True)
class Route:
    client: str  # anthropic | chat | responses
    provider: str
    model: str
    wire: str  # what the upstream speaks: anthropic | openai-chat | openai-responses | ollama

    @property
    def translated(self) -> bool:
        return {"chat": "openai-chat", "responses": "openai-responses"}.get(self.client, self.client) != self.wire


ROUTES = {
    "responses>openai": Route("responses", "openai", "gpt-test", "openai-responses"),
    "chat>openai": Route("chat", "openai", "gpt-test", "openai-chat"),
    "chat>anthropic": Route("chat", "anthropic", "claude-test", "anthropic"),
    "responses>anthropic": Route("responses", "anthropic", "claude-test", "anthropic"),
    "anthropic>openai-chat": Route("anthropic", "openai-compatible", "compat-test", "openai-chat"),
    "anthropic>ollama": Route("anthropic", "ollama", "qwen-test:7b", "ollama"),
}


def providers(url: str) -> ProviderSet:
    """Every provider of the routes above at ``url`` (the fake answers each on its own path)."""
    return ProviderSet(
        {"ANTHROPIC_API_KEY": FAKE_ANTHROPIC_KEY, "OPENAI_API_KEY": FAKE_OPENAI_KEY},
        {"anthropic": {"base_url": url}, "openai": {"base_url": url + "/v1"},
         "openai-compatible": {"base_url": url + "/v1"}, "ollama": {"base_url": url}},
    )


# -- what the upstream sends, in its own format -------------------------------------------------------
def answer(route: Route, stream: bool, turn: Turn = TURN) -> Reply:
    model = route.model
    if route.wire == "anthropic":
        if stream:
            return Reply(headers={"content-type": "text/event-stream"}, chunks=stream_events(turn, model))
        return Reply(headers={"content-type": "application/json"}, body=json.dumps(message_json(turn, model)).encode())
    if route.wire == "ollama":
        if stream:
            return Reply(headers={"content-type": "application/x-ndjson"}, chunks=fake_ollama.chat_stream(turn, model))
        return Reply(headers={"content-type": "application/json"},
                     body=json.dumps(fake_ollama.chat_json(turn, model)).encode())
    chat = route.wire == "openai-chat"
    if stream:
        chunks = fake_openai.chat_stream(turn, model) if chat else fake_openai.responses_stream(turn, model)
        return Reply(headers={"content-type": "text/event-stream"}, chunks=chunks)
    payload = fake_openai.chat_json(turn, model) if chat else fake_openai.responses_json(turn, model)
    return Reply(headers={"content-type": "application/json"}, body=json.dumps(payload).encode())


def api_error(route: Route, status: int, message: str, headers: dict[str, str] | None = None) -> Reply:
    """An error answer the way this upstream's API shapes it."""
    if route.wire == "anthropic":
        kind = {429: "rate_limit_error", 529: "overloaded_error"}.get(status, "api_error")
        return error_reply(status, kind, message, headers)
    if route.wire == "ollama":
        return Reply(status=status, headers={"content-type": "application/json", **(headers or {})},
                     body=json.dumps({"error": message}).encode())
    reply = fake_openai.openai_error(status, message, "requests" if status == 429 else "server_error")
    reply.headers.update(headers or {})
    return reply


# -- the client side ----------------------------------------------------------------------------------
PROMPT = "hi"


def call(route: Route, base_url: str, stream: bool, retries: int = 0) -> Any:
    """One call with the official SDK of ``route.client``; returns the answer (or the stream's items)."""
    if route.client == "anthropic":
        with anthropic.Anthropic(base_url=base_url, api_key=FAKE_ANTHROPIC_KEY, max_retries=retries, timeout=20) as sdk:
            request = {"model": "claude-opus-4-8", "max_tokens": 64, "messages": [{"role": "user", "content": PROMPT}]}
            if stream:
                with sdk.messages.stream(**request) as events:
                    return events.get_final_message()
            return sdk.messages.create(**request)
    with openai.OpenAI(base_url=f"{base_url}/v1", api_key=FAKE_OPENAI_KEY, max_retries=retries, timeout=20) as sdk:
        if route.client == "chat":
            result = sdk.chat.completions.create(model="gpt-test", messages=[{"role": "user", "content": PROMPT}],
                                                 stream=stream)
        else:
            result = sdk.responses.create(model="gpt-test", input=PROMPT, stream=stream)
        return list(result) if stream else result


def text_of(route: Route, result: Any, stream: bool) -> str:
    """The answer's text, as the SDK's user reads it."""
    if route.client == "anthropic":
        return "".join(block.text for block in result.content if block.type == "text")
    if route.client == "chat":
        if stream:
            return "".join(c.choices[0].delta.content or "" for c in result if c.choices)
        return result.choices[0].message.content or ""
    if stream:
        return "".join(e.delta for e in result if e.type == "response.output_text.delta")
    return result.output_text


def status_error(route: Route) -> type[Exception]:
    return anthropic.APIStatusError if route.client == "anthropic" else openai.APIStatusError


def stream_failure(route: Route, base_url: str) -> str:
    """Run a streaming call whose upstream stream breaks; the error text the SDK's user sees.

    Anthropic and Chat SDKs raise; a Responses stream ends with ``response.failed`` (or ``error``)
    carrying the message, the way the OpenAI API itself reports a failed response.
    """
    if route.client == "responses":
        events = call(route, base_url, stream=True)
        last = events[-1]
        assert last.type in ("response.failed", "error"), [e.type for e in events]
        return last.response.error.message if last.type == "response.failed" else last.message
    with pytest.raises((anthropic.APIError, openai.APIError)) as caught:
        call(route, base_url, stream=True)
    return str(caught.value)


# -- fixtures -------------------------------------------------------------------------------------------
class Script:
    """The fake upstream's current behaviour, set by each test."""

    def __init__(self) -> None:
        self.respond: Callable[[Received], Reply] = lambda request: Reply(status=500)

    def __call__(self, request: Received) -> Reply:
        return self.respond(request)


@contextlib.contextmanager
def scripted_proxy(directory, read_timeout: float, transport: str) -> Iterator[tuple[Any, FakeUpstream, Script]]:
    """A proxy in front of a fake upstream whose behaviour each test scripts."""
    script = Script()
    with FakeUpstream(script) as upstream, \
            start_proxy(directory, upstream.url, transport, providers=providers(upstream.url),
                        read_timeout=read_timeout) as proxy:
        yield proxy, upstream, script


@pytest.fixture(scope="module")
def shared(tmp_path_factory, upstream_transport):
    with scripted_proxy(tmp_path_factory.mktemp("route-faults"), 30.0, upstream_transport) as parts:
        yield parts


@pytest.fixture(params=list(ROUTES), ids=list(ROUTES))
def route(request) -> Route:
    return ROUTES[request.param]


class Check:
    """One test's view of the shared proxy: its route, and the rows and tasks it adds."""

    def __init__(self, proxy, upstream, script: Script, route: Route) -> None:
        self.proxy, self.upstream, self.script, self.route = proxy, upstream, script, route
        proxy.ctx.router = StaticRouter(route.provider, route.model)
        proxy.ctx.providers = providers(upstream.url)
        self.rows_before = len(proxy.rows())
        self.baseline = proxy.task_count()
        self.base_url = proxy.base_url

    def reply(self, make: Callable[[Received], Reply]) -> None:
        self.script.respond = make

    def row(self, routed: bool = True) -> dict:
        """No task outlived the request and the ledger has exactly one new row: that row (with the
        route's provider when the request got as far as routing)."""
        assert self.proxy.settle_tasks(self.baseline) <= self.baseline, f"a task outlived the request: {self.proxy.tasks()}"
        rows = self.proxy.rows()[self.rows_before:]
        assert len(rows) == 1, rows
        assert rows[0]["provider"] == self.route.provider or not routed
        return rows[0]


@pytest.fixture
def check(shared, route) -> Check:
    return Check(*shared, route)


def _stream_of(request: Received) -> bool:
    body = request.json or {}
    return body.get("stream", True) if request.path.endswith("/api/chat") else bool(body.get("stream"))


# -- the baseline: each route works -----------------------------------------------------------------------
@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_route_answers_when_the_upstream_is_healthy(check, stream):
    check.reply(lambda request: answer(check.route, _stream_of(request)))
    result = call(check.route, check.base_url, stream)
    assert text_of(check.route, result, stream) == TURN.text
    row = check.row()
    assert row["status"] == 200 and row["error"] is None
    assert row["input_tokens"] == TURN.input_tokens and row["output_tokens"] == TURN.output_tokens


# -- upstream HTTP errors -----------------------------------------------------------------------------------
@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("retry_after", ["7", None], ids=["retry-after", "no-retry-after"])
def test_429_is_a_rate_limit_error_with_its_retry_after(check, retry_after, stream):
    headers = {"retry-after": retry_after} if retry_after else {}
    check.reply(lambda request: api_error(check.route, 429, "Rate limit reached for requests", headers))
    error = anthropic.RateLimitError if check.route.client == "anthropic" else openai.RateLimitError
    with pytest.raises(error) as caught:
        call(check.route, check.base_url, stream)
    assert caught.value.status_code == 429
    assert caught.value.response.headers.get("retry-after") == retry_after
    assert "Rate limit reached" in caught.value.message
    row = check.row()
    assert row["status"] == 429 and "Rate limit reached" in row["error"]


@pytest.mark.parametrize("status", [500, 529])
def test_server_errors_keep_status_and_message(check, status):
    check.reply(lambda request: api_error(check.route, status, f"upstream says {status}"))
    with pytest.raises(status_error(check.route)) as caught:
        call(check.route, check.base_url, stream=status == 529)
    assert caught.value.status_code == status
    assert f"upstream says {status}" in caught.value.message
    row = check.row()
    assert row["status"] == status and f"upstream says {status}" in row["error"]


def test_the_upstreams_retry_advice_reaches_the_sdk(check):
    """``x-should-retry: false`` (and ``retry-after-ms``) are what the SDKs obey before retrying a
    5xx: the upstream saying "do not retry" is heard through lynkr too, so the SDK (here with its
    default of two retries) asks once instead of three times."""
    headers = {"x-should-retry": "false", "retry-after-ms": "10"}
    check.reply(lambda request: api_error(check.route, 500, "internal error, retrying will not help", headers))
    sent_before = len(check.upstream.received)
    with pytest.raises(status_error(check.route)) as caught:
        call(check.route, check.base_url, stream=False, retries=2)
    assert caught.value.status_code == 500
    assert caught.value.response.headers.get("x-should-retry") == "false"
    assert caught.value.response.headers.get("retry-after-ms") == "10"
    assert len(check.upstream.received) - sent_before == 1
    check.row()


def test_error_with_a_numeric_code(check):
    """OpenRouter's errors carry numeric codes (``{"error": {"code": 429, "message": …}}``): the SDK
    gets its rate-limit error with the message (describing it used to raise inside lynkr)."""
    body = json.dumps({"error": {"code": 429, "message": "Rate limit exceeded: free-models-per-day"}}).encode()
    check.reply(lambda request: Reply(status=429, headers={"content-type": "application/json"}, body=body))
    error = anthropic.RateLimitError if check.route.client == "anthropic" else openai.RateLimitError
    with pytest.raises(error) as caught:
        call(check.route, check.base_url, stream=True)
    assert "free-models-per-day" in str(caught.value.body)
    row = check.row()
    assert row["status"] == 429 and "429: Rate limit exceeded: free-models-per-day" in row["error"]


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_error_object_in_a_200_answer(check, stream):
    """Some servers (OpenRouter, gateways) answer 200 with only ``{"error": …}``: translated, that was
    an empty successful answer (recorded without error, even cacheable); now the SDK gets a 502 naming
    the error. Passed through, the bytes are the upstream's; the ledger records the error either way."""
    body = json.dumps({"error": {"code": 502, "message": "Provider returned error"}}).encode()
    check.reply(lambda request: Reply(headers={"content-type": "application/json"}, body=body))
    if check.route.translated:
        with pytest.raises(status_error(check.route)) as caught:
            call(check.route, check.base_url, stream)
        assert caught.value.status_code == 502 and "Provider returned error" in caught.value.message
    else:
        try:
            call(check.route, check.base_url, stream)
        except (openai.APIConnectionError, openai.APIStatusError) as error:
            pytest.fail(f"lynkr changed a passed-through answer: {error!r}")
        except Exception:
            pass  # the SDK's own verdict on the upstream's bytes
    row = check.row()
    assert "answered HTTP 200 with an error: 502: Provider returned error" in row["error"]


def test_model_missing_upstream(check):
    """The upstream says the model is not there (404). Passed through, the client's own model is
    missing: a 404. Translated, the model is lynkr's choice: a 400 carrying the upstream's message,
    since clients read a 404 as "your model does not exist" (see test_agent_faults)."""
    check.reply(lambda request: api_error(check.route, 404, f"model {check.route.model} not found, try pulling it first"))
    with pytest.raises(status_error(check.route)) as caught:
        call(check.route, check.base_url, stream=True)
    expected = 400 if check.route.translated else 404
    assert caught.value.status_code == expected and "try pulling it first" in caught.value.message
    row = check.row()
    assert row["status"] == expected and "try pulling it first" in row["error"]


def test_error_sent_as_an_sse_event_is_read_like_a_json_error(check):
    """Some servers answer a streaming request's error as an SSE event (with a 4xx/5xx status): the
    SDK's user gets the message inside it, not the raw ``event: … data: …`` text."""
    body = b'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded, try later"}}\n\n'
    check.reply(lambda request: Reply(status=503, headers={"content-type": "text/event-stream"}, body=body))
    with pytest.raises(status_error(check.route)) as caught:
        call(check.route, check.base_url, stream=True)
    assert caught.value.status_code == 503
    if check.route.translated:  # passed through, the SDK reads the upstream's own body
        assert "Overloaded, try later" in caught.value.message and "data:" not in caught.value.message
    row = check.row()
    assert row["status"] == 503 and "overloaded_error: Overloaded, try later" in row["error"]
    assert "data:" not in row["error"]


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_html_error_page_becomes_an_api_error_naming_the_page(check, stream):
    page = b"<html><head><title>503 Service Temporarily Unavailable</title></head><body>nginx</body></html>"
    check.reply(lambda request: Reply(status=503, headers={"content-type": "text/html"}, body=page))
    with pytest.raises(status_error(check.route)) as caught:
        call(check.route, check.base_url, stream)
    assert caught.value.status_code == 503
    assert "503 Service Temporarily Unavailable" in caught.value.message
    row = check.row()
    assert row["status"] == 503 and "HTML" in row["error"]


# -- upstream unreachable or silent -------------------------------------------------------------------------
def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_connection_refused_is_a_502_naming_the_cause(check, stream):
    dead = f"http://127.0.0.1:{_closed_port()}"
    check.proxy.ctx.providers = providers(dead)
    with pytest.raises(status_error(check.route)) as caught:
        call(check.route, check.base_url, stream)
    assert caught.value.status_code == 502
    assert "ConnectError" in caught.value.message and dead.split("//")[1] in caught.value.message
    row = check.row()
    assert row["status"] == 502 and "ConnectError" in row["error"]


@pytest.fixture(scope="module")
def impatient_shared(tmp_path_factory, upstream_transport):
    """A second shared proxy, with a 1 s read timeout, for the upstreams that go quiet (short, yet long
    enough that a loaded machine does not time out the healthy first bytes of a stall test)."""
    with scripted_proxy(tmp_path_factory.mktemp("impatient"), 1.0, upstream_transport) as parts:
        yield parts


@pytest.fixture
def quiet(impatient_shared, route) -> Iterator[Check]:
    """A ``Check`` on the impatient proxy; ``quiet.release`` is set when the test ends, so the fake's
    waiting thread never outlives it."""
    check = Check(*impatient_shared, route)
    check.release = threading.Event()  # type: ignore[attr-defined]
    try:
        yield check
    finally:
        check.release.set()  # type: ignore[attr-defined]


def test_timeout_before_the_first_byte_is_a_504(quiet):
    route = quiet.route

    def slow(request: Received) -> Reply:
        quiet.release.wait(10)
        return answer(route, _stream_of(request))

    quiet.reply(slow)
    with pytest.raises(status_error(route)) as caught:
        call(route, quiet.base_url, stream=True)
    assert caught.value.status_code == 504
    assert "ReadTimeout" in caught.value.message
    row = quiet.row()
    assert row["status"] == 504 and "ReadTimeout" in row["error"]


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_stall_mid_answer_names_the_timeout(quiet, stream):
    """The upstream sends part of its answer and goes quiet: the SDK's user learns it was a read
    timeout (not merely that the answer was incomplete), streamed or not, translated or not."""
    route = quiet.route

    def stalls(request: Received) -> Reply:
        reply = answer(route, _stream_of(request))

        def chunks():
            if reply.chunks is not None:
                yield from list(reply.chunks)[:3]
            else:
                yield (reply.body or b"")[:20]
            quiet.release.wait(10)

        return Reply(headers=reply.headers, chunks=chunks())

    quiet.reply(stalls)
    if stream:
        message = stream_failure(route, quiet.base_url)
    elif not route.translated:
        # A passed-through JSON answer that breaks after its first bytes reaches the SDK as the broken
        # connection it is (which it may retry), never as a complete body of truncated JSON.
        with pytest.raises(openai.APIConnectionError):
            call(route, quiet.base_url, stream=False)
        message = None  # the SDK's own APIConnectionError, no text from lynkr
    else:
        with pytest.raises(status_error(route)) as caught:
            call(route, quiet.base_url, stream=False)
        message = caught.value.message
        assert caught.value.status_code == 502
    assert message is None or "stream broke: ReadTimeout" in message, message
    row = quiet.row()
    assert "ReadTimeout" in row["error"]


# -- broken and malformed answers ----------------------------------------------------------------------------
def test_stream_cut_mid_event_ends_with_an_error_the_sdk_surfaces(check):
    def cut(request: Received) -> Reply:
        reply = answer(check.route, True)
        chunks = list(reply.chunks or [])
        half = chunks[4][: len(chunks[4]) // 2]
        return Reply(headers=reply.headers, chunks=[*chunks[:4], half, b"never sent"], cut_after=5)

    check.reply(cut)
    message = stream_failure(check.route, check.base_url)
    assert "stream broke: RemoteProtocolError" in message, message  # the cause, not just "incomplete"
    row = check.row()
    assert "stream broke: RemoteProtocolError" in row["error"]


def test_malformed_stream_ends_and_is_recorded(check):
    """Garbage inside a 200 stream: the stream still ends (never hangs); translated, the SDK's user
    gets an error saying the upstream sent events that are not JSON; passed through, the bytes are
    the upstream's own."""
    def garbage(request: Received) -> Reply:
        first = list(answer(check.route, True).chunks or [])[0]
        junk = b"{not json at all\n" if check.route.wire == "ollama" else b"data: {not json at all\n\n"
        return Reply(headers=answer(check.route, True).headers, chunks=[first, junk, b"\x00\xff\xfe junk\n\n"])

    check.reply(garbage)
    if check.route.translated:
        message = stream_failure(check.route, check.base_url)
        assert "not valid JSON (first: '{not json at all')" in message, message  # what went wrong, not just "ended"
    else:
        with pytest.raises(json.JSONDecodeError):  # the SDK cannot parse what the upstream sent; lynkr did not alter it
            call(check.route, check.base_url, stream=True)
    row = check.row()
    assert row["status"] == 200
    if check.route.translated:
        assert "not valid JSON" in row["error"]


@pytest.mark.parametrize("body", [b'{"id": "x", "choices": [', b"", b"\xff\xfe"], ids=["truncated", "empty", "binary"])
def test_malformed_json_answer(check, body):
    check.reply(lambda request: Reply(headers={"content-type": "application/json"}, body=body))
    if check.route.translated:
        with pytest.raises(status_error(check.route)) as caught:
            call(check.route, check.base_url, stream=False)
        assert caught.value.status_code == 502 and "could not be parsed" in caught.value.message
    else:
        with pytest.raises(json.JSONDecodeError):
            call(check.route, check.base_url, stream=False)
    row = check.row()
    if check.route.translated:
        assert row["status"] == 502 and "could not be parsed" in row["error"]
    else:
        assert row["status"] == 200


# -- size ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_huge_answer_arrives_whole(check, stream):
    """An 8 MB answer (128 deltas of 64 KB) reaches the SDK complete, translated or not."""
    words = " ".join(f"w{i:03d}" + "x" * 65_530 for i in range(128))
    big = Turn(text=words, input_tokens=5, output_tokens=8_000)
    check.reply(lambda request: answer(check.route, _stream_of(request), big))
    result = call(check.route, check.base_url, stream)
    assert text_of(check.route, result, stream) == words
    row = check.row()
    assert row["status"] == 200 and row["error"] is None and row["output_tokens"] == 8_000


@pytest.mark.parametrize("route", ["chat>openai", "responses>anthropic", "anthropic>openai-chat"], indirect=True)
def test_json_answer_over_32_mb(check):
    """Passed through, it arrives whole with no error recorded; translated (lynkr must hold a JSON
    answer whole to convert it), the SDK gets a 502 saying it is too large, not "could not be parsed"."""
    big = Turn(text="z" * (33 << 20), input_tokens=5, output_tokens=9)
    check.reply(lambda request: answer(check.route, False, big))
    if check.route.translated:
        with pytest.raises(status_error(check.route)) as caught:
            call(check.route, check.base_url, stream=False)
        assert caught.value.status_code == 502 and "over 32 MB" in caught.value.message
    else:
        assert text_of(check.route, call(check.route, check.base_url, stream=False), False) == big.text
    row = check.row()
    if check.route.translated:
        assert row["status"] == 502 and "over 32 MB" in row["error"]
    else:
        assert row["status"] == 200 and row["error"] is None


def test_client_leaving_mid_stream_cancels_the_upstream_call(check):
    """The SDK's user stops reading and closes the stream: lynkr stops the upstream call at once
    (the fake notices its writes failing), records the request, and leaves no task behind."""
    sent: list[int] = []
    route = check.route
    filler = (json.dumps({"model": route.model, "created_at": "2025-01-01T00:00:00Z", "done": False,
                          "message": {"role": "assistant", "content": ""}}).encode() + b"\n"
              if route.wire == "ollama" else b": keep-alive\n\n")

    def slow(request: Received) -> Reply:
        def chunks():
            for chunk in list(answer(route, True).chunks or [])[:3]:
                sent.append(1)
                yield chunk
            for _ in range(400):  # keeps going slowly until the proxy hangs up (the write then fails)
                time.sleep(0.02)
                sent.append(1)
                yield filler

        return Reply(headers=answer(route, True).headers, chunks=chunks())

    check.reply(slow)
    if route.client == "anthropic":
        sdk: Any = anthropic.Anthropic(base_url=check.base_url, api_key=FAKE_ANTHROPIC_KEY, max_retries=0)
        stream = sdk.messages.create(model="claude-opus-4-8", max_tokens=64, stream=True,
                                     messages=[{"role": "user", "content": PROMPT}])
    else:
        sdk = openai.OpenAI(base_url=f"{check.base_url}/v1", api_key=FAKE_OPENAI_KEY, max_retries=0)
        if route.client == "chat":
            stream = sdk.chat.completions.create(model="gpt-test", messages=[{"role": "user", "content": PROMPT}],
                                                 stream=True)
        else:
            stream = sdk.responses.create(model="gpt-test", input=PROMPT, stream=True)
    with sdk:
        next(iter(stream))  # the first event arrives, then the user walks away
        stream.close()
    row = check.row()
    time.sleep(0.3)
    stopped_at = len(sent)
    time.sleep(0.3)
    assert len(sent) == stopped_at < 100, "the upstream kept streaming after the client left"
    assert "client disconnected" in row["error"]


MALFORMED = {  # request parts of the wrong type, per client API (the SDKs send what they are given)
    "anthropic": [{"messages": [{"role": "user", "content": [5]}]}, {"tools": [5]}, {"stop_sequences": 5}],
    "chat": [{"messages": [5]}, {"tools": [5]}, {"stop": 5}],
    "responses": [{"input": [5]}, {"tools": [5]}, {"reasoning": 5}],
}


@pytest.mark.parametrize("variant", range(3))
def test_request_of_the_wrong_shape_is_a_400_in_the_clients_format(check, variant):
    """A body lynkr cannot read or translate is the client's 400 (its SDK's BadRequestError) with a
    ledger row, never a plain-text 500 from the proxy; nothing is sent upstream."""
    route, bad = check.route, MALFORMED[check.route.client][variant]
    sent_before = len(check.upstream.received)
    check.reply(lambda request: answer(route, _stream_of(request)))
    if route.client == "anthropic":
        request = {"model": "claude-opus-4-8", "max_tokens": 64, "messages": [{"role": "user", "content": PROMPT}],
                   **bad}
        with anthropic.Anthropic(base_url=check.base_url, api_key=FAKE_ANTHROPIC_KEY, max_retries=0) as sdk, \
                pytest.raises(anthropic.BadRequestError) as caught:
            sdk.messages.create(**request)
        assert caught.value.body["error"]["type"] == "invalid_request_error"
        message = caught.value.body["error"]["message"]
    else:
        with openai.OpenAI(base_url=f"{check.base_url}/v1", api_key=FAKE_OPENAI_KEY, max_retries=0) as sdk, \
                pytest.raises(openai.BadRequestError) as caught:
            if route.client == "chat":
                sdk.chat.completions.create(**{"model": "gpt-test", "messages": [{"role": "user", "content": PROMPT}],
                                               **bad})
            else:
                sdk.responses.create(**{"model": "gpt-test", "input": PROMPT, **bad})
        assert caught.value.body["type"] == "invalid_request_error"
        message = caught.value.body["message"]
    assert "does not fit the" in message or "could not be translated for provider" in message, message
    assert len(check.upstream.received) == sent_before
    row = check.row(routed="could not be translated" in message)
    assert row["status"] == 400 and row["error"] == message.split("lynkr: ", 1)[1]


WRONG_SHAPE = {  # valid JSON in the upstream's answer, but a part of the wrong type
    "anthropic": ({"id": "msg_1", "type": "message", "role": "assistant", "content": [5]},
                  {"type": "content_block_delta", "index": 0, "delta": 5}),
    "openai-chat": ({"id": "c1", "object": "chat.completion", "choices": [5]}, {"choices": [5]}),
    "openai-responses": ({"id": "r1", "object": "response", "output": [5]}, {"type": "response.created", "response": 5}),
    "ollama": ({"model": "m", "message": 5, "done": True}, {"model": "m", "message": 5, "done": False}),
}


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_answer_of_an_unexpected_shape(check, stream):
    """Valid JSON whose parts have the wrong types: translated, the SDK's user gets a 502 or a
    stream error saying lynkr could not read the upstream's answer (not a plain-text 500 or a dropped
    connection); passed through, the bytes reach the SDK as sent. A ledger row either way."""
    route = check.route
    whole, event = WRONG_SHAPE[route.wire]

    def reply(request: Received) -> Reply:
        if not stream:
            return Reply(headers={"content-type": "application/json"}, body=json.dumps(whole).encode())
        healthy = answer(route, True)
        line = json.dumps(event).encode()
        bad = line + b"\n" if route.wire == "ollama" else b"data: " + line + b"\n\n"
        return Reply(headers=healthy.headers, chunks=[*list(healthy.chunks or [])[:2], bad])

    check.reply(reply)
    if not route.translated:
        try:
            call(route, check.base_url, stream)
        except (openai.APIConnectionError, openai.APIStatusError) as error:
            pytest.fail(f"lynkr changed a passed-through answer: {error!r}")
        except Exception:
            pass  # the SDK's own verdict on the upstream's bytes
    elif stream:  # the event is named, or skipped and the stream reported incomplete; never dropped
        message = stream_failure(route, check.base_url)
        assert "sent an event lynkr could not read" in message or "ended before the response" in message, message
    else:
        with pytest.raises(status_error(route)) as caught:
            call(route, check.base_url, stream)
        assert caught.value.status_code == 502 and "answer has a shape lynkr cannot read" in caught.value.message
    row = check.row()
    assert row["status"] == (502 if route.translated and not stream else 200) and row["error"]


def test_usage_counts_that_are_not_numbers_still_leave_a_ledger_row(check):
    """An upstream reporting token counts as strings: the answer still reaches the SDK, translated or
    not, and the request is recorded as a success whose unreadable counts are unknown (the cost
    computation used to fail and lose the row; a translated answer used to become a 502)."""
    route = check.route

    def reply(request: Received) -> Reply:
        healthy = answer(route, False)
        body = json.loads(healthy.body or b"{}")
        if route.wire == "ollama":
            body["prompt_eval_count"] = "11"
        else:
            body["usage"] = {key: str(value) if isinstance(value, int) else value
                             for key, value in (body.get("usage") or {}).items()}
        return Reply(headers=healthy.headers, body=json.dumps(body).encode())

    check.reply(reply)
    assert text_of(route, call(route, check.base_url, False), False) == TURN.text
    row = check.row()
    assert (row["status"], row["error"]) == (200, None)
    assert row["input_tokens"] is None
    # Ollama's output count was left a number; every other count here was sent as a string.
    assert row["output_tokens"] == (TURN.output_tokens if route.wire == "ollama" else None)


def test_with_routing_on_a_request_no_fallback_can_carry_still_gets_its_answer(tmp_path):
    """Tier routing with a fallback chain in another format (Ollama): a request whose parts that
    format cannot carry (``"tools": [5]``) goes to its first choice as before, and the upstream's own
    400 reaches the SDK, instead of lynkr failing with a plain-text 500 while preparing the fallback."""
    from lynkr_cli.routing.config import RoutingConfig
    from lynkr_cli.routing.proxy import TierRouter
    from lynkr_cli.routing.router import Router
    from lynkr_cli.routing.tiers import TierMap

    upstream_says = "tools.0: Input should be a valid dictionary"
    first = ROUTES["chat>anthropic"]
    router = TierRouter(Router(TierMap.from_strings({"simple": "anthropic:claude-test"}),
                               RoutingConfig(backoff_s=0.01, fallback=["ollama:qwen-test:7b"])))
    with FakeUpstream(lambda request: api_error(first, 400, upstream_says)) as upstream, \
            start_proxy(tmp_path, upstream.url, providers=providers(upstream.url), router=router) as proxy:
        with anthropic.Anthropic(base_url=proxy.base_url, api_key=FAKE_ANTHROPIC_KEY, max_retries=0) as sdk, \
                pytest.raises(anthropic.BadRequestError) as caught:
            sdk.messages.create(model="claude-opus-4-8", max_tokens=64, tools=[5],  # type: ignore[list-item]
                                messages=[{"role": "user", "content": PROMPT}])
        (row,) = proxy.rows()
    assert upstream_says in caught.value.message
    assert row["status"] == 400 and "could not be translated" in row["details"]["route"]["fallback_skipped"][0]


@pytest.mark.parametrize("route", [r for r in ROUTES if ROUTES[r].translated], indirect=True)
@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_compressed_answer_is_translated(check, stream):
    """A gateway that gzips its answer although lynkr asked for ``identity``: translated, the SDK
    still gets the answer (lynkr read compressed bytes as JSON before: "could not be parsed"); a
    corrupt compressed body is an error naming it."""
    import gzip

    route = check.route

    def compressed(request: Received) -> Reply:
        reply = answer(route, _stream_of(request))
        data = gzip.compress(b"".join(reply.chunks) if reply.chunks is not None else reply.body or b"")
        return Reply(headers={**reply.headers, "content-encoding": "gzip"}, chunks=[data[:40], data[40:]])

    check.reply(compressed)
    assert text_of(route, call(route, check.base_url, stream), stream) == TURN.text
    row = check.row()
    assert row["status"] == 200 and row["error"] is None and row["output_tokens"] == TURN.output_tokens

    def corrupt(request: Received) -> Reply:
        reply = compressed(request)
        return Reply(headers=reply.headers, chunks=[b"\x1f\x8b\x08\x00garbage-not-deflate"])

    check.reply(corrupt)
    check.rows_before = len(check.proxy.rows())
    if stream:
        message = stream_failure(route, check.base_url)
    else:
        with pytest.raises(status_error(route)) as caught:
            call(route, check.base_url, stream)
        message = caught.value.message
    assert "compressed answer is corrupt" in message, message
    assert "compressed answer is corrupt" in check.row()["error"]


@pytest.mark.parametrize("route", [r for r in ROUTES if ROUTES[r].translated], indirect=True)
def test_unreadable_stream_ends_at_once(quiet):
    """A translated stream lynkr cannot read (here: corrupt gzip) from an upstream that then keeps the
    connection open: the client's stream ends with the error at once, and the ledger row names that
    error, not the client's disconnect or a read timeout that came later."""
    route = quiet.route

    def corrupt_then_quiet(request: Received) -> Reply:
        reply = answer(route, _stream_of(request))

        def chunks():
            yield b"\x1f\x8b\x08\x00garbage-not-deflate"
            quiet.release.wait(10)

        return Reply(headers={**reply.headers, "content-encoding": "gzip"}, chunks=chunks())

    quiet.reply(corrupt_then_quiet)
    message = stream_failure(route, quiet.base_url)
    assert "compressed answer is corrupt" in message, message
    assert "compressed answer is corrupt" in quiet.row()["error"]


@pytest.mark.parametrize("route", ["responses>openai", "responses>anthropic"], indirect=True)
def test_continuing_a_stored_openai_conversation(check):
    """``previous_response_id`` names a conversation OpenAI stored. Passed through, OpenAI gets it.
    Translated, the other provider has no such conversation: a 400 saying so, instead of an answer
    silently given without the earlier turns."""
    route = check.route
    check.reply(lambda request: answer(route, _stream_of(request)))
    sent_before = len(check.upstream.received)
    with openai.OpenAI(base_url=f"{check.base_url}/v1", api_key=FAKE_OPENAI_KEY, max_retries=0) as sdk:
        if not route.translated:
            sdk.responses.create(model="gpt-test", input="and then?", previous_response_id="resp_abc123")
        else:
            with pytest.raises(openai.BadRequestError) as caught:
                sdk.responses.create(model="gpt-test", input="and then?", previous_response_id="resp_abc123")
    if not route.translated:
        assert check.upstream.received[-1].json["previous_response_id"] == "resp_abc123"
        assert check.row()["status"] == 200
        return
    assert "previous_response_id refers to a conversation stored at OpenAI" in caught.value.message
    assert len(check.upstream.received) == sent_before
    assert check.row()["status"] == 400
