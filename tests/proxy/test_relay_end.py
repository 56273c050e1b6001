"""A client that leaves as soon as it has the answer's final event, while the upstream has not ended
its body yet (the OpenAI SDK closes the connection at ``[DONE]``): the ledger records the success it
was, not "client disconnected before the response ended"."""

from __future__ import annotations

import threading
import time

import httpx
import openai
import pytest

from lynkr_cli.providers.base import ProviderSet
from lynkr_cli.routing.static import StaticRouter
from tests.conftest import FAKE_ANTHROPIC_KEY, FAKE_OPENAI_KEY, running_proxy
from tests.fakes.anthropic import Turn, stream_events
from tests.fakes.openai import chat_stream
from tests.fakes.server import FakeUpstream, Received, Reply

TURN = Turn(text="all done here", input_tokens=12, output_tokens=4)


@pytest.fixture
def held_upstream():
    """Streams a whole answer, then keeps its body open until the test ends."""
    release = threading.Event()

    def handle(request: Received) -> Reply:
        model = (request.json or {}).get("model", "m")
        chunks = chat_stream(TURN, model) if request.path.endswith("/chat/completions") else stream_events(TURN, model)

        def body():
            yield from chunks
            release.wait(10)

        return Reply(headers={"content-type": "text/event-stream"}, chunks=body())

    with FakeUpstream(handle) as server:
        try:
            yield server
        finally:
            release.set()


def _row(records: list) -> object:
    deadline = time.monotonic() + 5
    while not records and time.monotonic() < deadline:
        time.sleep(0.01)
    (row,) = records
    return row


@pytest.mark.parametrize("provider", ["openai", "anthropic"], ids=["passed-through", "translated"])
def test_openai_sdk_leaving_at_done(held_upstream, tmp_path, provider):
    url = held_upstream.url
    providers = ProviderSet({"ANTHROPIC_API_KEY": FAKE_ANTHROPIC_KEY, "OPENAI_API_KEY": FAKE_OPENAI_KEY},
                            {"anthropic": {"base_url": url}, "openai": {"base_url": url + "/v1"}})
    with running_proxy(url, tmp_path / "l.db", providers=providers) as (base_url, ctx, ledger):
        ctx.router = StaticRouter(provider, "test-model")
        records: list = []
        ctx.listeners.append(records.append)
        client = openai.OpenAI(base_url=base_url + "/v1", api_key=FAKE_OPENAI_KEY, max_retries=0)
        stream = client.chat.completions.create(model="test-model", stream=True,
                                                messages=[{"role": "user", "content": "hi"}])
        text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
        row = _row(records)
    assert text == "all done here"
    assert row.status == 200 and row.error is None, row.error
    assert row.provider == provider and row.output_tokens == 4


def test_anthropic_client_leaving_at_message_stop(held_upstream, tmp_path):
    with running_proxy(held_upstream.url, tmp_path / "l.db") as (base_url, ctx, ledger):
        records: list = []
        ctx.listeners.append(records.append)
        with httpx.Client(timeout=10) as client:
            with client.stream("POST", f"{base_url}/v1/messages", headers={"x-api-key": FAKE_ANTHROPIC_KEY},
                               json={"model": "claude-x", "max_tokens": 10, "stream": True,
                                     "messages": [{"role": "user", "content": "hi"}]}) as response:
                lines = response.iter_lines()
                for line in lines:
                    if line == "event: message_stop":
                        next(lines)  # its data line, then leave without waiting for the body's end
                        break
        row = _row(records)
    assert row.status == 200 and row.error is None, row.error
    assert row.output_tokens == 4
