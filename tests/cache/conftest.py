"""Fixtures for the response cache: a fake upstream that counts model calls, a proxy with a real cache."""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path

import anthropic
import pytest

from lynkr_cli.cache.service import ResponseCache
from tests.conftest import FAKE_ANTHROPIC_KEY, running_proxy
from tests.fakes.anthropic import Turn, messages_handler, reply_for
from tests.fakes.server import FakeUpstream


class Answers:
    """Replies with a numbered answer per upstream call, so a served-from-cache answer is recognizable."""

    def __init__(self) -> None:
        self.calls = 0
        self.turn: Turn | None = None

    def __call__(self, request, body):  # type: ignore[no-untyped-def]
        self.calls += 1
        turn = self.turn or Turn(text=f"answer number {self.calls}", input_tokens=1000, output_tokens=200,
                                 cache_read_tokens=5000, cache_write_tokens=300)
        return reply_for(turn, request)


@pytest.fixture
def answers() -> Answers:
    return Answers()


@pytest.fixture
def upstream(answers):
    with FakeUpstream(messages_handler(answers)) as server:
        yield server


@pytest.fixture
def cached_proxy(upstream, tmp_path: Path):
    """``(client, base_url, ctx)`` for a proxy whose cache runs in ``mode`` (default exact)."""

    @contextlib.contextmanager
    def start(mode: str = "exact", cache_path: Path | None = None, **cache_options: object):
        cache = ResponseCache(mode, cache_path or tmp_path / "cache.sqlite3", **cache_options)  # type: ignore[arg-type]
        with running_proxy(upstream.url, tmp_path / "ledger.sqlite3", cache=cache) as (base_url, ctx, ledger):
            watch_records(ctx)
            client = anthropic.Anthropic(base_url=base_url, api_key=FAKE_ANTHROPIC_KEY, max_retries=0)
            yield client, base_url, ctx
        cache.close()

    return start


MODEL_ROUTES = ("/v1/messages", "/v1/chat/completions", "/v1/responses")


def watch_records(ctx) -> None:  # type: ignore[no-untyped-def]
    """Count the model requests the proxy has finished recording (see ``settle``)."""
    condition = threading.Condition()
    ctx.recorded = 0

    def on_record(record) -> None:  # type: ignore[no-untyped-def]
        if record.route in MODEL_ROUTES:
            with condition:
                ctx.recorded += 1
                condition.notify_all()

    ctx.recorded_condition = condition
    ctx.listeners.append(on_record)


def settle(ctx, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    """Wait until every request the cache looked up has been recorded and its answer stored.

    The relay records a request and then hands its answer to the cache in the same step of the event
    loop, after the client already has the last byte; ``flush`` covers the hand-over from there."""
    with ctx.recorded_condition:
        assert ctx.recorded_condition.wait_for(lambda: ctx.recorded >= ctx.cache.lookups, timeout)
    ctx.cache.flush()
