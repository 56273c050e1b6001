"""The proxy's front layer: every answer carries ``x-lynkr-cache``, refusals included, and a failing
component (a bug in lynkr) gives the client a 500 in its own format and leaves a ledger row, without
taking the proxy down."""

from __future__ import annotations

import httpx
import pytest

from lynkr_cli.proxy.components import NoCache
from tests.conftest import FAKE_ANTHROPIC_KEY, running_proxy
from tests.fakes.anthropic import Turn, messages_handler, reply_for
from tests.fakes.server import FakeUpstream

ASK = {"model": "claude-haiku-4-5", "max_tokens": 10, "messages": [{"role": "user", "content": "ping"}]}
HEADERS = {"x-api-key": FAKE_ANTHROPIC_KEY, "anthropic-version": "2023-06-01"}


@pytest.fixture
def upstream():
    with FakeUpstream(messages_handler(lambda request, body: reply_for(Turn(text="pong"), request))) as server:
        yield server


def test_refusals_and_answers_all_say_what_the_cache_did(upstream, tmp_path):
    with running_proxy(upstream.url, tmp_path / "l.db", token="secret-token") as (base_url, ctx, ledger):
        root = base_url.rsplit("/s/", 1)[0]
        no_token = httpx.post(f"{root}/v1/messages", json=ASK, headers=HEADERS)
        climbing = httpx.get(f"{base_url}/v1/models/..%5C..%5Cadmin", headers=HEADERS)
        answer = httpx.post(f"{base_url}/v1/messages", json=ASK, headers=HEADERS)
        health = httpx.get(f"{base_url}/")
    assert no_token.status_code == 401 and no_token.json()["error"]["type"] == "authentication_error"
    assert climbing.status_code == 404 and climbing.json()["error"]["type"] == "not_found_error"
    assert answer.status_code == 200 and answer.json()["content"][0]["text"] == "pong"
    assert health.status_code == 200
    for response in (no_token, climbing, answer, health):
        assert response.headers["x-lynkr-cache"] == "skip"
    assert len(upstream.received) == 1


class _BrokenCache:
    """A cache plugin with a bug (not a ``LynkrError``): nothing in the flow catches it."""

    enabled = True

    async def lookup(self, request, target, record):  # type: ignore[no-untyped-def]
        raise RuntimeError("cache index corrupted")

    def store(self, request, target, message) -> None:  # type: ignore[no-untyped-def]
        pass


@pytest.mark.parametrize("path", ["/v1/messages", "/v1/chat/completions", "/v1/responses"])
def test_a_component_bug_is_a_500_in_the_clients_format_with_a_row(upstream, tmp_path, path):
    with running_proxy(upstream.url, tmp_path / "l.db") as (base_url, ctx, ledger):
        rows: list = []
        ctx.listeners.append(rows.append)
        ctx.cache = _BrokenCache()
        with httpx.Client(timeout=10) as client:
            failed = client.post(f"{base_url}{path}", json=ASK, headers=HEADERS)
            ctx.cache = NoCache()
            served = client.post(f"{base_url}/v1/messages", json=ASK, headers=HEADERS)
    assert failed.status_code == 500 and failed.headers["x-lynkr-cache"] == "skip"
    error = failed.json()["error"]
    assert error["type"] == ("api_error" if path == "/v1/messages" else "server_error")
    assert "lynkr: internal error" in error["message"] and "cache index corrupted" in error["message"]
    assert rows[0].status == 500 and "RuntimeError: cache index corrupted" in rows[0].error
    assert served.status_code == 200 and served.json()["content"][0]["text"] == "pong"
