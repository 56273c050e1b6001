"""The proxy's event loop: uvloop by default where installed, the standard one on request."""

from __future__ import annotations

import asyncio

import anthropic
import pytest

from lynkr_cli.proxy.server import event_loop_factory
from tests.conftest import FAKE_ANTHROPIC_KEY, running_proxy
from tests.fakes.anthropic import Turn, reply_for
from tests.fakes.server import FakeUpstream


@pytest.mark.parametrize("choice, module", [("", "uvloop"), ("asyncio", "asyncio")])
def test_the_proxy_serves_streams_on_either_event_loop(tmp_path, monkeypatch, choice: str, module: str):
    monkeypatch.setenv("LYNKR_EVENT_LOOP", choice)
    factory = event_loop_factory()
    loop = factory() if factory is not None else asyncio.new_event_loop()
    assert type(loop).__module__.split(".")[0] == module
    loop.close()

    turn = Turn(text="It runs on either loop.", input_tokens=321, output_tokens=7)
    with FakeUpstream(lambda request: reply_for(turn, request)) as upstream:
        with running_proxy(upstream.url, tmp_path / "ledger.db") as (base, ctx, ledger):
            rows: list = []
            ctx.listeners.append(rows.append)
            client = anthropic.Anthropic(base_url=base, api_key=FAKE_ANTHROPIC_KEY, max_retries=0)
            with client.messages.stream(model="claude-sonnet-5", max_tokens=50,
                                        messages=[{"role": "user", "content": "which loop?"}]) as stream:
                text = "".join(stream.text_stream)
                final = stream.get_final_message()
    assert text == "It runs on either loop."
    assert final.usage.input_tokens == 321
    assert [(row.status, row.input_tokens, row.output_tokens) for row in rows] == [(200, 321, 7)]
