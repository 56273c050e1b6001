"""Every request authenticated, and lynkr's own credential never forwarded: a real ``lynkr serve``.

The token is accepted in the path, as ``X-Lynkr-Token`` and as the client's own key header; in every
form it is removed before the request goes on, and the upstream gets the key lynkr holds instead. A
key of the client's own goes only to the provider family it belongs to.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import anthropic
import httpx
import pytest

from tests.conftest import FAKE_ANTHROPIC_KEY, FAKE_OPENAI_KEY, base_env, ledger_rows, run_lynkr
from tests.fakes.anthropic import Turn, reply_for
from tests.fakes.ollama import ollama_handler
from tests.fakes.openai import openai_handler
from tests.fakes.server import FakeUpstream, Received, Reply
from tests.security.conftest import TOKEN, Served, http_request, raw_request, status_of

OAUTH_TOKEN = "sk-ant-oat01-SUBSCRIPTION-abcdefghijklmnopqrstuvwxyz0123456789"
BODY = {"model": "claude-haiku-4-5", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}


def anthropic_upstream(request: Received) -> Reply:
    path = request.path.split("?", 1)[0]
    if path.endswith("/count_tokens"):
        return Reply(headers={"content-type": "application/json"}, body=b'{"input_tokens": 3}')
    if path.endswith("/v1/models"):
        return Reply(headers={"content-type": "application/json"}, body=b'{"data": [], "has_more": false}')
    return reply_for(Turn(text="pong"), request)


def everything_sent(received: list[Received]) -> str:
    return "\n".join(f"{r.method} {r.path}\n{json.dumps(r.headers)}\n{r.body.decode('utf-8', 'replace')}"
                     for r in received)


@pytest.fixture
def upstream():
    with FakeUpstream(anthropic_upstream) as server:
        yield server


def test_the_token_in_every_form_is_accepted_and_never_forwarded(upstream, tmp_path: Path) -> None:
    """Path, X-Lynkr-Token, x-api-key and Authorization: Bearer carrying the token all pass; the
    upstream sees lynkr's key in its place, on the model route and on pass-through routes alike."""
    env = base_env(tmp_path / "lh", ANTHROPIC_API_KEY=FAKE_ANTHROPIC_KEY)
    with Served(["--port", "0", "--token", TOKEN, "--upstream", upstream.url], env) as served:
        clients = [
            anthropic.Anthropic(base_url=f"{served.url}/s/{TOKEN}", api_key=TOKEN, max_retries=0),
            anthropic.Anthropic(base_url=served.url, api_key=None, auth_token=TOKEN, max_retries=0),
            anthropic.Anthropic(base_url=f"{served.url}/s/{TOKEN}", api_key=None, auth_token=TOKEN, max_retries=0),
            anthropic.Anthropic(base_url=served.url, api_key=TOKEN, max_retries=0,
                                default_headers={"X-Lynkr-Token": TOKEN}),
        ]
        for client in clients:
            assert client.messages.create(**BODY).content[0].text == "pong"
            with client.messages.stream(**BODY) as stream:
                assert stream.get_final_message().content[0].text == "pong"
        assert clients[1].messages.count_tokens(model="m", messages=BODY["messages"]).input_tokens == 3
        models = httpx.get(f"{served.url}/v1/models", headers={"x-lynkr-token": TOKEN, "anthropic-version": "x"})
        assert models.status_code == 200, models.text
        # The right token in the path and a wrong one in the header: admitted, the header still dropped.
        mixed = httpx.post(f"{served.url}/s/{TOKEN}/v1/messages", json=BODY,
                           headers={"x-lynkr-token": "not-the-token", "anthropic-version": "2023-06-01"})
        assert mixed.status_code == 200
        code, log = served.stop()
    assert code == 0, log
    assert len(upstream.received) == 2 * len(clients) + 3
    sent = everything_sent(upstream.received)
    assert TOKEN not in sent and TOKEN[5:25] not in sent and "not-the-token" not in sent
    assert "x-lynkr-token" not in sent.lower()
    assert all(r.headers.get("x-api-key") == FAKE_ANTHROPIC_KEY for r in upstream.received), sent
    assert not any("authorization" in r.headers for r in upstream.received)


@pytest.mark.parametrize("headers", [
    {},
    {"x-api-key": TOKEN[:-1]},
    {"authorization": f"Bearer {TOKEN}x"},
    {"authorization": f"Basic {TOKEN}"},
    {"x-lynkr-token": TOKEN.upper()},
    {"authorization": f"Bearer {FAKE_ANTHROPIC_KEY}"},  # a key of its own is no token
], ids=["nothing", "key-prefix", "bearer-longer", "basic", "other-case", "own-key"])
def test_anything_but_the_exact_token_is_a_401_that_reaches_nobody(upstream, tmp_path: Path, headers) -> None:
    home = tmp_path / "lh"
    env = base_env(home, ANTHROPIC_API_KEY=FAKE_ANTHROPIC_KEY)
    with Served(["--port", "0", "--token", TOKEN, "--upstream", upstream.url], env) as served:
        body = json.dumps(BODY).encode()
        raw = raw_request(served.host, served.port, http_request(
            "POST", "/v1/messages", {"host": f"127.0.0.1:{served.port}", "content-type": "application/json",
                                     "anthropic-version": "2023-06-01", **headers}, body))
        chat = raw_request(served.host, served.port, http_request(
            "POST", f"/s/{TOKEN[:-2]}/v1/chat/completions",
            {"host": "127.0.0.1", "content-type": "application/json", **headers}, b"{}"))
        code, log = served.stop()
    assert status_of(raw) == 401 and status_of(chat) == 401
    assert json.loads(raw.split(b"\r\n\r\n", 1)[1])["error"]["type"] == "authentication_error"
    assert json.loads(chat.split(b"\r\n\r\n", 1)[1])["error"]["code"] == "invalid_api_key"  # OpenAI's shape
    assert upstream.received == []
    _, requests = ledger_rows(home)
    assert sorted(r["status"] for r in requests) == [401, 401]  # refused, and recorded
    assert TOKEN[:-2] not in json.dumps(requests)  # not even a near miss of the token is stored


def test_run_token_given_as_the_agents_key_is_replaced_by_the_held_key(upstream, tmp_path: Path) -> None:
    """``lynkr run`` with an agent that has no key of its own: it sends the session token as its bearer
    token (what Claude Code does with ANTHROPIC_AUTH_TOKEN), and the upstream gets the user's key."""
    script = ("import anthropic, os\n"
              "os.environ.pop('ANTHROPIC_API_KEY')\n"
              "base = os.environ['ANTHROPIC_BASE_URL']\n"
              "token = base.rsplit('/s/', 1)[1]\n"
              "c = anthropic.Anthropic(base_url=base, auth_token=token, max_retries=0)\n"
              "print(c.messages.create(model='m', max_tokens=5, messages=[{'role': 'user', 'content': 'x'}])"
              ".content[0].text)\n")
    env = base_env(tmp_path / "lh", ANTHROPIC_API_KEY=FAKE_ANTHROPIC_KEY, ANTHROPIC_BASE_URL=upstream.url)
    result = run_lynkr(["run", "--report", "none", "--", sys.executable, "-c", script], env)
    assert result.returncode == 0 and result.stdout.strip() == "pong", result.stderr
    (received,) = upstream.received
    assert received.headers.get("x-api-key") == FAKE_ANTHROPIC_KEY and "authorization" not in received.headers


# -- a client's own key goes only to its own family ---------------------------------------------------
@pytest.mark.parametrize("route", ["openai-compatible", "ollama"])
def test_a_subscription_bearer_never_reaches_another_providers_upstream(tmp_path: Path, route: str) -> None:
    """Claude Code signed in with a subscription sends ``Authorization: Bearer sk-ant-oat…``; when lynkr
    routes the request to an OpenAI-compatible server or Ollama, that token stays behind (the route
    uses the key lynkr holds for it, or none)."""
    home = tmp_path / "lh"
    if route == "ollama":
        fake = FakeUpstream(ollama_handler(lambda request, body: Turn(text="local")))
        env = base_env(home, OLLAMA_HOST="127.0.0.1:{port}")
        model = "ollama:qwen2.5-coder:7b"
    else:
        fake = FakeUpstream(openai_handler(lambda request, body: Turn(text="local")))
        env = base_env(home, OPENROUTER_API_KEY=FAKE_OPENAI_KEY, OPENROUTER_BASE_URL="http://127.0.0.1:{port}/v1")
        model = "openrouter:qwen/qwen-coder"
    with fake:
        env = {k: v.replace("{port}", str(fake.port)) for k, v in env.items()}
        with Served(["--port", "0", "--token", TOKEN, "--model", model], env) as served:
            client = anthropic.Anthropic(base_url=f"{served.url}/s/{TOKEN}", api_key=None, auth_token=OAUTH_TOKEN,
                                         max_retries=0, default_headers={"x-api-key": OAUTH_TOKEN})
            assert client.messages.create(**BODY).content[0].text == "local"
            with client.messages.stream(**BODY) as stream:
                assert stream.get_final_message().content[0].text == "local"
            code, log = served.stop()
        assert code == 0, log
        assert len(fake.received) == 2
        sent = everything_sent(fake.received)
    assert OAUTH_TOKEN not in sent and "sk-ant-oat" not in sent
    if route != "ollama":
        assert all(r.headers.get("authorization") == f"Bearer {FAKE_OPENAI_KEY}" for r in fake.received)
    assert os.environ.get("LYNKR_HOME") != str(home)  # the test's home, not the developer's


def test_another_apis_key_is_not_passed_through_to_anthropic(upstream, tmp_path: Path) -> None:
    """An OpenAI client calling an endpoint lynkr does not model (``/v1/embeddings``): lynkr passes
    unknown paths to the Anthropic upstream, but not a request that is no Anthropic API call, so its
    OpenAI key never reaches Anthropic."""
    import openai

    home = tmp_path / "lh"
    with Served(["--port", "0", "--token", TOKEN, "--upstream", upstream.url], base_env(home)) as served:
        client = openai.OpenAI(base_url=f"{served.url}/s/{TOKEN}/v1", api_key=FAKE_OPENAI_KEY, max_retries=0)
        with pytest.raises(openai.NotFoundError):
            client.embeddings.create(model="text-embedding-3-small", input="hi")
        served.stop()
    assert upstream.received == []
