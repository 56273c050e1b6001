"""Each way an upstream can fail, seen through lynkr by the official Anthropic SDK.

For every fault: the client gets an error in the Anthropic format (or a stream that ends with an
``error`` event it understands), no task is left on the proxy's loop, and the ledger has the request.
"""

from __future__ import annotations

import json
import socket
import threading
import time

import anthropic
import httpx
import pytest

from tests.conftest import FAKE_ANTHROPIC_KEY
from tests.fakes.anthropic import Turn, error_reply, messages_handler, reply_for, sse, stream_events
from tests.fakes.server import FakeUpstream, Received, Reply

MESSAGE = {"model": "claude-opus-4-8", "max_tokens": 64, "messages": [{"role": "user", "content": "hi"}]}
HEADERS = {"x-api-key": FAKE_ANTHROPIC_KEY, "anthropic-version": "2023-06-01", "content-type": "application/json"}


def only(reply_factory):
    """A handler answering every Messages call with ``reply_factory(request)``."""
    return messages_handler(lambda request, body: reply_factory(request))


def create(proxy, stream: bool = False):
    """One call with the official SDK; the client is closed after it, so its connection is too."""
    with anthropic.Anthropic(base_url=proxy.base_url, api_key=FAKE_ANTHROPIC_KEY, max_retries=0) as client:
        if stream:
            with client.messages.stream(**MESSAGE) as events:
                return events.get_final_message()
        return client.messages.create(**MESSAGE)


def check_clean(proxy, baseline: int) -> dict:
    """No task left behind, exactly one ledger row; returns the row."""
    assert proxy.settle_tasks(baseline) <= baseline, f"a task outlived the request: {proxy.tasks()}"
    rows = proxy.rows()
    assert len(rows) == 1, rows
    return rows[0]


def relay_stream(proxy_for, chunks: list[bytes]) -> tuple[httpx.Response, dict]:
    """A streamed Messages call answered with ``chunks`` as they are, read raw (no SDK parsing):
    the response and its ledger row, after checking nothing was left behind."""
    reply = Reply(headers={"content-type": "text/event-stream"}, chunks=chunks)
    with FakeUpstream(only(lambda r: reply)) as upstream, proxy_for(upstream.url) as proxy:
        baseline = proxy.task_count()
        with httpx.Client() as client:
            response = client.post(f"{proxy.base_url}/v1/messages", headers=HEADERS, json=dict(MESSAGE, stream=True))
        return response, check_clean(proxy, baseline)


# -- upstream HTTP errors ---------------------------------------------------------------------------
@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("retry_after", ["7", None], ids=["retry-after", "no-retry-after"])
def test_429_reaches_the_client_with_its_retry_after(proxy_for, retry_after, stream):
    headers = {"retry-after": retry_after} if retry_after else {}
    reply = error_reply(429, "rate_limit_error", "Number of request tokens has exceeded your limit", headers)
    with FakeUpstream(only(lambda r: reply)) as upstream, proxy_for(upstream.url) as proxy:
        baseline = proxy.task_count()
        with pytest.raises(anthropic.RateLimitError) as caught:
            create(proxy, stream)
        assert caught.value.response.headers.get("retry-after") == retry_after
        assert caught.value.body["error"]["type"] == "rate_limit_error"
        row = check_clean(proxy, baseline)
    assert row["status"] == 429
    assert "rate_limit_error" in (row["error"] or "")


@pytest.mark.parametrize("status,error_type,sdk_error", [
    (500, "api_error", anthropic.InternalServerError),
    (502, "api_error", anthropic.InternalServerError),
    (503, "api_error", anthropic.InternalServerError),
    (529, "overloaded_error", anthropic.APIStatusError),
])
def test_server_errors_are_relayed_with_status_and_body(proxy_for, status, error_type, sdk_error):
    reply = error_reply(status, error_type, f"upstream says {status}")
    with FakeUpstream(only(lambda r: reply)) as upstream, proxy_for(upstream.url) as proxy:
        baseline = proxy.task_count()
        with pytest.raises(sdk_error) as caught:
            create(proxy, stream=True)
        assert caught.value.status_code == status
        assert caught.value.body["error"] == {"type": error_type, "message": f"upstream says {status}"}
        row = check_clean(proxy, baseline)
    assert row["status"] == status and error_type in row["error"]


def test_html_error_page_becomes_an_anthropic_error(proxy_for):
    """A load balancer's HTML page is not something an API client can parse: lynkr turns it into an
    error object with the status kept and the page's title as the reason."""
    page = b"<html><head><title>502 Bad Gateway</title></head><body><center>nginx</center></body></html>"
    reply = Reply(status=502, headers={"content-type": "text/html"}, body=page)
    with FakeUpstream(only(lambda r: reply)) as upstream, proxy_for(upstream.url) as proxy:
        baseline = proxy.task_count()
        with pytest.raises(anthropic.InternalServerError) as caught:
            create(proxy)
        assert caught.value.status_code == 502
        error = caught.value.body["error"]
        assert error["type"] == "api_error" and "502 Bad Gateway" in error["message"]
        row = check_clean(proxy, baseline)
    assert row["status"] == 502 and "502 Bad Gateway" in row["error"]


# -- upstream unreachable -----------------------------------------------------------------------------
def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("url,reason", [
    (f"http://127.0.0.1:{_closed_port()}", "ConnectError"),
    ("http://api.lynkr-test.invalid", "ConnectError"),
], ids=["connection-refused", "dns-failure"])
def test_unreachable_upstream_is_a_502_naming_the_cause(proxy_for, url, reason):
    with proxy_for(url) as proxy:
        baseline = proxy.task_count()
        with pytest.raises(anthropic.InternalServerError) as caught:
            create(proxy, stream=True)
        assert caught.value.status_code == 502
        message = caught.value.body["error"]["message"]
        assert message.startswith("lynkr: ") and reason in message and url.split("//")[1] in message
        row = check_clean(proxy, baseline)
    assert row["status"] == 502 and reason in row["error"]


def test_timeout_before_first_byte_is_a_504(proxy_for):
    release = threading.Event()

    def slow(request: Received) -> Reply:
        release.wait(10)
        return reply_for(Turn(text="too late"), request)

    with FakeUpstream(only(slow)) as upstream, proxy_for(upstream.url, read_timeout=0.5) as proxy:
        baseline = proxy.task_count()
        with pytest.raises(anthropic.APIStatusError) as caught:
            create(proxy, stream=True)
        release.set()
        assert caught.value.status_code == 504
        assert caught.value.body["error"]["type"] == "api_error"
        assert "ReadTimeout" in caught.value.body["error"]["message"]
        row = check_clean(proxy, baseline)
    assert row["status"] == 504 and "ReadTimeout" in row["error"]


# -- broken streams -------------------------------------------------------------------------------------
def _first_events(turn: Turn, count: int) -> list[bytes]:
    return stream_events(turn, "claude-opus-4-8")[:count]


def test_stream_stall_ends_with_an_error_event(proxy_for):
    release = threading.Event()

    def chunks():
        yield from _first_events(Turn(text="a b c d"), 3)
        release.wait(10)  # the upstream goes quiet mid-stream

    reply = Reply(headers={"content-type": "text/event-stream"}, chunks=chunks())
    with FakeUpstream(only(lambda r: reply)) as upstream, proxy_for(upstream.url, read_timeout=0.5) as proxy:
        baseline = proxy.task_count()
        with pytest.raises(anthropic.APIStatusError) as caught:
            create(proxy, stream=True)
        release.set()
        assert "ReadTimeout" in str(caught.value)
        row = check_clean(proxy, baseline)
    assert row["status"] == 200 and "stream broke" in row["error"] and "ReadTimeout" in row["error"]
    assert row["input_tokens"] == 100  # what message_start reported is kept


def test_stream_cut_mid_event_ends_with_a_parseable_error_event(proxy_for):
    """The connection drops in the middle of an event: the client must not receive half an event
    glued to lynkr's error event, but whole events, then the error, then the end of the stream."""
    events = _first_events(Turn(text="one two three four"), 5)
    half = events[4][: len(events[4]) // 2]
    reply = Reply(headers={"content-type": "text/event-stream"}, chunks=[*events[:4], half, b"never sent"],
                  cut_after=5)
    with FakeUpstream(only(lambda r: reply)) as upstream, proxy_for(upstream.url) as proxy:
        baseline = proxy.task_count()
        with httpx.Client() as client:
            response = client.post(f"{proxy.base_url}/v1/messages", headers=HEADERS,
                                   json=dict(MESSAGE, stream=True))
        body = response.content
        row = check_clean(proxy, baseline)
    assert response.status_code == 200
    assert body.startswith(b"".join(events[:4]))
    parsed = [block for block in body.split(b"\n\n") if block.strip()]
    assert len(parsed) == 5, body  # four whole events, then lynkr's error event
    event, data = parsed[-1].split(b"\n", 1)
    assert event == b"event: error"
    error = json.loads(data.removeprefix(b"data: "))
    assert error["type"] == "error" and "stream broke" in error["error"]["message"]
    assert "stream broke" in row["error"]


def test_sdk_sees_a_cut_stream_as_an_error(proxy_for):
    reply_events = _first_events(Turn(text="one two three four"), 5)
    reply = Reply(headers={"content-type": "text/event-stream"}, chunks=reply_events, cut_after=4)
    with FakeUpstream(only(lambda r: reply)) as upstream, proxy_for(upstream.url) as proxy:
        baseline = proxy.task_count()
        with pytest.raises(anthropic.APIStatusError) as caught:
            create(proxy, stream=True)
        assert "stream broke" in str(caught.value)
        check_clean(proxy, baseline)


# -- malformed answers ------------------------------------------------------------------------------------
def test_malformed_sse_is_relayed_and_recorded(proxy_for):
    """Garbage inside a 200 stream is the upstream's answer: lynkr passes it on unchanged (the client
    decides), does not crash its usage scanner, ends the stream and records the request."""
    garbage = [sse("message_start", {"type": "message_start", "message": {"usage": {"input_tokens": 3}}}),
               b"event: content_block_delta\ndata: {not json at all\n\n", b"\x00\xff\xfe binary junk\n\n",
               b"data: " + b"x" * 100_000 + b"\n\n", b"event: message_stop\ndata: {}\n\n"]
    response, row = relay_stream(proxy_for, garbage)
    assert response.status_code == 200 and response.content == b"".join(garbage)
    assert row["status"] == 200 and row["input_tokens"] == 3 and row["response_bytes"] == len(response.content)


@pytest.mark.parametrize("body", [b'{"id": "msg_1", "type": "message", "content": [', b"", b"null", b"\xff\xfe"])
def test_malformed_json_answer_is_relayed_and_recorded(proxy_for, body):
    reply = Reply(headers={"content-type": "application/json"}, body=body)
    with FakeUpstream(only(lambda r: reply)) as upstream, proxy_for(upstream.url) as proxy:
        baseline = proxy.task_count()
        response = httpx.post(f"{proxy.base_url}/v1/messages", headers=HEADERS, json=MESSAGE)
        row = check_clean(proxy, baseline)
    assert response.status_code == 200 and response.content == body
    assert row["status"] == 200 and row["input_tokens"] is None


def test_malformed_request_json_gets_an_anthropic_400(proxy_for):
    with FakeUpstream(only(lambda r: reply_for(Turn(text="x"), r))) as upstream, proxy_for(upstream.url) as proxy:
        baseline = proxy.task_count()
        response = httpx.post(f"{proxy.base_url}/v1/messages", headers=HEADERS, content=b'{"model": "x", ')
        row = check_clean(proxy, baseline)
        assert upstream.requests_to("/v1/messages") == []
    assert response.status_code == 400
    assert response.json()["type"] == "error" and response.json()["error"]["type"] == "invalid_request_error"
    assert row["status"] == 400 and "not valid JSON" in row["error"]


# -- size and speed ------------------------------------------------------------------------------------
def test_huge_response_streams_through_intact(proxy_for):
    """A 64 MB answer is relayed chunk by chunk (never held whole) and counted byte for byte."""
    piece = b"data: " + b"y" * (1024 * 1024 - 8) + b"\n\n"
    chunks = [sse("message_start", {"type": "message_start", "message": {"usage": {"input_tokens": 9}}})]
    chunks += [piece] * 64
    reply = Reply(headers={"content-type": "text/event-stream"}, chunks=chunks)
    with FakeUpstream(only(lambda r: reply)) as upstream, proxy_for(upstream.url) as proxy:
        baseline = proxy.task_count()
        received = 0
        with httpx.Client(timeout=60) as client, client.stream(
            "POST", f"{proxy.base_url}/v1/messages", headers=HEADERS, json=dict(MESSAGE, stream=True)
        ) as response:
            for data in response.iter_raw():
                received += len(data)
        row = check_clean(proxy, baseline)
    total = sum(map(len, chunks))
    assert received == total and row["response_bytes"] == total and row["input_tokens"] == 9


def test_slow_client_gets_every_byte(proxy_for):
    """A client reading slowly pushes back through the proxy instead of making it buffer or drop."""
    events = stream_events(Turn(text=" ".join(f"w{i}" for i in range(400))), "claude-opus-4-8")
    reply = Reply(headers={"content-type": "text/event-stream"}, chunks=events)
    with FakeUpstream(only(lambda r: reply)) as upstream, proxy_for(upstream.url) as proxy:
        baseline = proxy.task_count()
        got = []
        with httpx.Client(timeout=30) as client, client.stream(
            "POST", f"{proxy.base_url}/v1/messages", headers=HEADERS, json=dict(MESSAGE, stream=True)
        ) as response:
            for data in response.iter_raw(256):
                got.append(data)
                time.sleep(0.002)
        row = check_clean(proxy, baseline)
    assert b"".join(got) == b"".join(events)
    assert row["output_tokens"] == 20 and row["error"] is None


def test_client_disconnect_mid_stream_cancels_the_upstream_call(proxy_for):
    sent = []  # one entry per event the upstream managed to write

    def chunks():
        for event in _first_events(Turn(text="a b c"), 3):
            sent.append(1)
            yield event
        for _ in range(400):  # keeps streaming slowly until the proxy hangs up (the write then fails)
            time.sleep(0.02)
            sent.append(1)
            yield sse("ping", {"type": "ping"})

    reply = Reply(headers={"content-type": "text/event-stream"}, chunks=chunks())
    with FakeUpstream(only(lambda r: reply)) as upstream, proxy_for(upstream.url) as proxy:
        baseline = proxy.task_count()
        with httpx.Client(timeout=10) as client, client.stream(
            "POST", f"{proxy.base_url}/v1/messages", headers=HEADERS, json=dict(MESSAGE, stream=True)
        ) as response:
            next(response.iter_raw())  # the first bytes arrive, then the client walks away
        row = check_clean(proxy, baseline)
        time.sleep(0.3)
        stopped_at = len(sent)
        time.sleep(0.3)
        assert len(sent) == stopped_at < 100, "the upstream kept streaming after the client left"
    assert "client disconnected" in row["error"]
    assert row["input_tokens"] == 100


def test_wrong_types_in_a_passed_through_stream_are_relayed_and_recorded(proxy_for):
    """Token counts as strings, a message or delta that is not an object: lynkr's usage scanner
    learns nothing from them but neither breaks the relay nor loses the request's ledger row."""
    odd = [sse("message_start", {"type": "message_start", "message": {"model": 5, "usage": {"input_tokens": "12"}}}),
           sse("message_start", {"type": "message_start", "message": 5}),
           sse("message_delta", {"type": "message_delta", "delta": 5, "usage": 7}),
           sse("error", {"type": "error", "error": "overloaded"})]
    response, row = relay_stream(proxy_for, odd)
    assert response.status_code == 200 and response.content == b"".join(odd)
    assert row["status"] == 200 and row["input_tokens"] is None and "overloaded" in row["error"]


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_a_compressed_answer_passes_through_and_its_usage_is_counted(proxy_for, stream):
    """A gateway that gzips although lynkr asks for ``identity``: the client gets the bytes as sent (its
    SDK decompresses them) and the ledger still has the answer's usage."""
    import gzip

    turn = Turn(text="Compressed, still counted.", input_tokens=1234, output_tokens=56)

    def compressed(request: Received) -> Reply:
        reply = reply_for(turn, request)
        data = gzip.compress(b"".join(reply.chunks) if reply.chunks is not None else reply.body or b"")
        return Reply(headers={**reply.headers, "content-encoding": "gzip"}, chunks=[data[:50], data[50:]])

    with FakeUpstream(only(compressed)) as upstream, proxy_for(upstream.url) as proxy:
        baseline = proxy.task_count()
        message = create(proxy, stream)
        row = check_clean(proxy, baseline)
    assert message.content[0].text == turn.text
    assert (row["status"], row["error"]) == (200, None)
    assert (row["input_tokens"], row["output_tokens"]) == (1234, 56)


def test_a_compressed_stream_cut_short_reaches_the_sdk_as_a_broken_connection(proxy_for):
    """Plain error bytes appended to a gzip stream would not decompress: a compressed stream that
    breaks is left unended, and the SDK reports the broken connection, not a decompression error."""
    import gzip

    def cut(request: Received) -> Reply:
        data = gzip.compress(b"".join(stream_events(Turn(text="never finished"), "claude-opus-4-8")))
        return Reply(headers={"content-type": "text/event-stream", "content-encoding": "gzip"},
                     chunks=[data[:60], data[60:120], data[120:]], cut_after=2)  # the third never sent

    with FakeUpstream(only(cut)) as upstream, proxy_for(upstream.url) as proxy:
        baseline = proxy.task_count()
        with pytest.raises(Exception) as caught:  # the SDK lets its HTTP client's error through
            create(proxy, stream=True)
        row = check_clean(proxy, baseline)
    assert "peer closed connection without sending complete message body" in str(caught.value)
    assert "stream broke" in row["error"]
