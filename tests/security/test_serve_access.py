"""Who can reach ``lynkr serve``: a token by default, the Host and Origin checked, JSON routes JSON only,
and ``--no-token`` spending no key it holds. A real ``lynkr serve`` process, raw sockets."""

from __future__ import annotations

import json
from pathlib import Path

import anthropic
import httpx
import pytest

from tests.conftest import FAKE_ANTHROPIC_KEY, FAKE_OPENAI_KEY, base_env, ledger_rows
from tests.fakes.anthropic import Turn, reply_for
from tests.fakes.openai import openai_handler
from tests.fakes.server import FakeUpstream, Received, Reply
from tests.security.conftest import Served, http_request, raw_request, status_of

BODY = json.dumps({"model": "claude-haiku-4-5", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]})
OWN_KEY = "sk-ant-api03-CLIENTSOWN-abcdefghijklmnopqrstuvwxyz"


def answer(request: Received) -> Reply:
    return reply_for(Turn(text="pong"), request)


@pytest.fixture
def upstream():
    with FakeUpstream(answer) as server:
        yield server


def post(served: Served, path: str, headers: dict[str, str], body: str = BODY) -> tuple[int, dict]:
    raw = raw_request(served.host, served.port, http_request("POST", path, headers, body.encode()))
    status, payload = status_of(raw), raw.split(b"\r\n\r\n", 1)[1]
    return status, json.loads(payload) if status >= 400 else {}  # errors have a content-length body


def test_a_default_serve_lets_nobody_spend_the_key_it_holds(upstream, tmp_path: Path) -> None:
    """``lynkr serve`` as installed, with ANTHROPIC_API_KEY in its environment: a local process without
    the token, a web page (blind cross-site POST, DNS rebinding) and a form post all reach no upstream."""
    home = tmp_path / "lh"
    with Served(["--port", "0", "--upstream", upstream.url], base_env(home, ANTHROPIC_API_KEY=FAKE_ANTHROPIC_KEY)) as s:
        token_path = s.base.removeprefix(s.url)  # /s/<token>
        local = {"host": f"127.0.0.1:{s.port}", "content-type": "application/json"}
        attempts = {
            "no credential": post(s, "/v1/messages", local),
            "cross-site text/plain": post(s, "/v1/messages", {"host": f"127.0.0.1:{s.port}", "origin":
                                          "https://evil.example", "content-type": "text/plain"}),
            "rebound name": post(s, f"{token_path}/v1/messages", dict(local, host=f"evil.example:{s.port}")),
            "rebound, same origin": post(s, "/v1/messages", {"host": f"rebind.evil.example:{s.port}", "origin":
                                         f"http://rebind.evil.example:{s.port}", "content-type": "application/json"}),
            "page with the token": post(s, f"{token_path}/v1/messages", dict(local, origin="null")),
            "form post": post(s, f"{token_path}/v1/messages", dict(local, **{"content-type": "application/x-www-form-urlencoded"})),
            "no content type": post(s, f"{token_path}/v1/messages", {"host": f"127.0.0.1:{s.port}"}),
            "text/plain with token": post(s, f"{token_path}/v1/chat/completions", dict(local, **{"content-type": "text/plain"})),
        }
        ok = anthropic.Anthropic(base_url=s.base, max_retries=0, api_key="unused").messages.create(**json.loads(BODY))
        code, log = s.stop()
    statuses = {name: status for name, (status, _) in attempts.items()}
    assert statuses == {"no credential": 401, "cross-site text/plain": 403, "rebound name": 403,
                        "rebound, same origin": 403, "page with the token": 403, "form post": 415,
                        "no content type": 415, "text/plain with token": 415}
    assert attempts["no credential"][1]["error"]["type"] == "authentication_error"
    assert attempts["rebound name"][1]["error"]["type"] == "permission_error"
    assert attempts["text/plain with token"][1]["error"]["code"] == "unsupported_media_type"  # OpenAI's shape
    assert ok.content[0].text == "pong" and len(upstream.received) == 1  # only the one with the token
    _, rows = ledger_rows(home)
    assert sorted(r["status"] for r in rows) == sorted([*statuses.values(), 200])
    assert code == 0, log


def test_configured_hosts_and_origins_are_let_in(upstream, tmp_path: Path) -> None:
    home = tmp_path / "lh"
    (home / "config").mkdir(parents=True)
    (home / "config" / "config.toml").write_text('[serve]\nallowed_origins = ["http://localhost:3000"]\n')
    env = base_env(home, ANTHROPIC_API_KEY=FAKE_ANTHROPIC_KEY)
    with Served(["--port", "0", "--upstream", upstream.url, "--allow-host", "devbox.lan"], env) as s:
        path = s.base.removeprefix(s.url) + "/v1/messages"
        named = post(s, path, {"host": f"devbox.lan:{s.port}", "content-type": "application/json"})
        preflight = raw_request(s.host, s.port, http_request("OPTIONS", path, {
            "host": f"localhost:{s.port}", "origin": "http://localhost:3000", "access-control-request-method": "POST",
            "access-control-request-headers": "content-type,x-api-key"}))
        page = raw_request(s.host, s.port, http_request("POST", path, {
            "host": f"localhost:{s.port}", "origin": "http://localhost:3000", "content-type": "application/json"},
            BODY.encode()))
        other = post(s, path, {"host": f"localhost:{s.port}", "origin": "http://localhost:3001",
                               "content-type": "application/json"})
        s.stop()
    assert named[0] == 200 and status_of(page) == 200 and other[0] == 403
    assert status_of(preflight) == 204
    assert b"access-control-allow-origin: http://localhost:3000" in preflight.lower()
    assert b"access-control-allow-headers: content-type,x-api-key" in preflight.lower()
    assert b"access-control-allow-origin: http://localhost:3000" in page.lower()
    assert len(upstream.received) == 2


def test_no_token_forwards_only_the_clients_own_key(upstream, tmp_path: Path) -> None:
    """``--no-token`` (loopback only, with a warning): a request with a key of its own is forwarded with
    that key, never with the keys lynkr holds; one without a key gets 401; a route that would need a key
    lynkr holds (here OpenRouter) gets 401 and reaches nobody."""
    home = tmp_path / "lh"
    with FakeUpstream(openai_handler(lambda request, body: Turn(text="routed"))) as other:
        env = base_env(home, ANTHROPIC_API_KEY=FAKE_ANTHROPIC_KEY, OPENROUTER_API_KEY=FAKE_OPENAI_KEY,
                       OPENROUTER_BASE_URL=f"{other.url}/v1")
        with Served(["--port", "0", "--no-token", "--upstream", upstream.url], env) as s:
            assert s.base == s.url
            own = anthropic.Anthropic(base_url=s.url, api_key=OWN_KEY, max_retries=0)
            assert own.messages.create(**json.loads(BODY)).content[0].text == "pong"
            keyless = post(s, "/v1/messages", {"host": "localhost", "content-type": "application/json",
                                               "anthropic-version": "2023-06-01"})
            models = httpx.get(f"{s.url}/v1/models", headers={"anthropic-version": "2023-06-01"})
            _, log = s.stop()
        with Served(["--port", "0", "--no-token", "--model", "openrouter:some/model"], env) as s:
            routed = post(s, "/v1/messages", {"host": "localhost", "content-type": "application/json",
                                              "x-api-key": OWN_KEY})
            s.stop()
        assert other.received == []
    assert "warning: --no-token" in log
    assert keyless[0] == 401 and models.status_code == 401
    assert routed[0] == 401 and "key lynkr holds" in routed[1]["error"]["message"]
    (received,) = upstream.received
    assert OWN_KEY in (received.headers.get("x-api-key"), received.headers.get("authorization", "")[7:])
    assert FAKE_ANTHROPIC_KEY not in json.dumps(received.headers)
