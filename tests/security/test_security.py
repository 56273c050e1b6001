"""Nobody in, nothing leaked: the proxy's boundary as an attacker or a careless log would meet it.

The proxy is started the way ``lynkr run`` starts it (a real process where it matters), attacked with
raw sockets where an HTTP library would refuse to send the bad request, and everything lynkr wrote is
scanned for the credentials that went through it.
"""

from __future__ import annotations

import json
import socket
import stat
import sys
from pathlib import Path

import anthropic
import httpx
import pytest

from tests.conftest import FAKE_ANTHROPIC_KEY, agent_binary, base_env, ledger_rows, run_lynkr
from tests.fakes.anthropic import Turn, error_reply, messages_handler, reply_for
from tests.fakes.server import FakeUpstream, Received, Reply
from tests.faults.conftest import start_proxy

MESSAGE = {"model": "claude-opus-4-8", "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]}
OAUTH_TOKEN = "sk-ant-oat01-FAKEOAUTH-abcdefghijklmnopqrstuvwxyz0123"
GATEWAY_KEY = "corpgw.7f3a9c2e1b4d8f60a5e7"  # a company gateway's key: no known provider shape


def answer(request: Received) -> Reply:
    return messages_handler(lambda r, body: reply_for(Turn(text="pong"), r))(request)


@pytest.fixture
def upstream():
    with FakeUpstream(answer) as server:
        yield server


@pytest.fixture
def proxy(upstream, tmp_path):
    with start_proxy(tmp_path, upstream.url, max_body_bytes=64 * 1024) as running:
        yield running


def raw_request(url: str, request: bytes) -> bytes:
    """Send bytes as they are (no client library to clean them up); the whole answer."""
    host, port = httpx.URL(url).host, httpx.URL(url).port
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(request)  # every request says "connection: close"; no half-close (it aborts the request)
        chunks = []
        while data := sock.recv(65536):
            chunks.append(data)
    return b"".join(chunks)


def status_of(raw: bytes) -> int:
    return int(raw.split(b" ", 2)[1])


# -- binding and the session token --------------------------------------------------------------------
def test_lynkr_run_listens_on_loopback_only(lynkr_home):
    """The proxy's listening socket is bound to 127.0.0.1 (read from the kernel's socket table, so it
    holds on a machine with no other address); where the machine has another address, a connection
    to the proxy's port on it is refused."""
    probe = (
        "import os, socket, sys\n"
        "from urllib.parse import urlsplit\n"
        "url = urlsplit(os.environ['ANTHROPIC_BASE_URL'])\n"
        "print(url.hostname, url.port, url.path)\n"
        "listening = set()\n"
        "for table in ('/proc/net/tcp', '/proc/net/tcp6'):\n"
        "    for line in open(table).read().splitlines()[1:]:\n"
        "        local, state = line.split()[1], line.split()[3]\n"
        "        address, port = local.split(':')\n"
        "        if state == '0A' and int(port, 16) == url.port:\n"  # 0A: LISTEN
        "            listening.add(address)\n"
        "print(','.join(sorted(listening)))\n"
        "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
        "try:\n"
        "    s.connect(('192.0.2.1', 9)); own = s.getsockname()[0]\n"  # the address other machines would use
        "except OSError:\n"
        "    own = None\n"
        "print(own)\n"
        "if own and own != '127.0.0.1':\n"
        "    try:\n"
        "        socket.create_connection((own, url.port), timeout=2).close(); print('reachable')\n"
        "    except OSError:\n"
        "        print('refused')\n"
    )
    result = run_lynkr(["run", "--report", "none", "--", sys.executable, "-c", probe], base_env(lynkr_home))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.split("\n")
    host, port, path = lines[0].split(" ")
    assert host == "127.0.0.1" and path.startswith("/s/") and len(path) > 20
    assert lines[1] == "0100007F"  # one listening socket, on 127.0.0.1 (little-endian hex)
    if lines[2] not in ("None", "127.0.0.1"):  # the machine has another address: try the port on it
        assert lines[3] == "refused"


@pytest.mark.parametrize("path", [
    "/v1/messages",                           # no token at all
    "/s/wrong-token/v1/messages",             # a wrong one
    "/s/fault-tokenX/v1/messages",            # the token as a prefix of a longer one
    "/s/fault-toke/v1/messages",              # a prefix of the token
    "/s//v1/messages",
    "/S/fault-token/v1/messages",
])
def test_requests_without_the_exact_token_get_401_and_reach_nobody(proxy, upstream, path):
    base = proxy.base_url.rsplit("/s/", 1)[0]
    body = json.dumps(MESSAGE).encode()
    raw = raw_request(base, b"POST " + path.encode() + b" HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
                      b"x-api-key: " + FAKE_ANTHROPIC_KEY.encode() + b"\r\ncontent-length: "
                      + str(len(body)).encode() + b"\r\nconnection: close\r\n\r\n" + body)
    assert status_of(raw) == 401
    error = json.loads(raw.split(b"\r\n\r\n", 1)[1])
    assert error["type"] == "error" and error["error"]["type"] == "authentication_error"
    assert upstream.received == []


# -- hostile input -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", [
    "/v1/../../etc/passwd",
    "/v1/models/%2E%2E/%2e./etc/passwd",
    "/v1/models/..%5c..%5csecret",
    "/v1/%2fetc/passwd",
    "/v1/%2e%2e/%2e%2e/etc/passwd",
    "/v1/..%2f..%2fetc/passwd",
    "/v1/models/..\\..\\secret",
])
def test_path_traversal_is_rejected_before_the_upstream(proxy, upstream, path):
    raw = raw_request(proxy.base_url, f"GET /s/fault-token{path} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n"
                      .encode())
    assert raw == b"" or status_of(raw) in (400, 404)  # h11 drops a request line it cannot parse
    assert not [r for r in upstream.received if "etc" in r.path or "secret" in r.path]


def test_header_injection_through_the_url_does_not_reach_the_upstream(proxy, upstream):
    raw = raw_request(proxy.base_url, b"GET /s/fault-token/v1/models?x=%0d%0aX-Injected:%20yes HTTP/1.1\r\n"
                      b"host: 127.0.0.1\r\nanthropic-version: 2023-06-01\r\nconnection: close\r\n\r\n")
    assert status_of(raw) == 200
    (received,) = upstream.received
    assert "x-injected" not in received.headers and "\r" not in received.path and "\n" not in received.path


@pytest.mark.parametrize("bad_header", [
    b"x-api-key: a\rb\r\n",             # a bare CR inside a value
    b"x-evil\x00: 1\r\n",               # NUL in a name
    b" folded: continuation\r\n",       # obsolete line folding
    b"bad header name: 1\r\n",
])
def test_malformed_headers_are_refused_with_400(proxy, upstream, bad_header):
    raw = raw_request(proxy.base_url, b"POST /s/fault-token/v1/messages HTTP/1.1\r\nhost: 127.0.0.1\r\nx-note: 1\r\n"
                      + bad_header + b"content-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}")
    assert raw == b"" or status_of(raw) == 400
    assert upstream.received == []


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_oversized_body_is_a_413_in_the_clients_format_and_recorded(proxy, upstream, chunked):
    big = dict(MESSAGE, messages=[{"role": "user", "content": "x" * (100 * 1024)}])
    content = json.dumps(big).encode()
    with httpx.Client() as client:
        if chunked:  # no content-length: the limit must hold while reading
            response = client.post(f"{proxy.base_url}/v1/messages", content=iter([content[:50_000], content[50_000:]]),
                                   headers={"x-api-key": FAKE_ANTHROPIC_KEY, "content-type": "application/json"})
        else:
            response = client.post(f"{proxy.base_url}/v1/messages", content=content,
                                   headers={"x-api-key": FAKE_ANTHROPIC_KEY, "content-type": "application/json"})
    assert response.status_code == 413
    assert response.json()["error"]["type"] == "request_too_large"
    assert "65536" in response.json()["error"]["message"]
    assert upstream.received == []
    (row,) = proxy.rows()
    assert row["status"] == 413


def test_sdk_gets_a_typed_413(proxy):
    client = anthropic.Anthropic(base_url=proxy.base_url, api_key=FAKE_ANTHROPIC_KEY, max_retries=0)
    with pytest.raises(anthropic.APIStatusError) as caught:
        client.messages.create(**dict(MESSAGE, messages=[{"role": "user", "content": "y" * 200_000}]))
    assert caught.value.status_code == 413


# -- credentials never written down ---------------------------------------------------------------------
def _written_by_lynkr(home: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(home.rglob("*")) if p.is_file())


def _echoing_upstream(request: Received) -> Reply:
    """A gateway that echoes the credential in its error (they exist); lynkr must not store the echo."""
    path = request.path.split("?")[0]
    if request.method == "POST" and path.endswith("/v1/messages"):
        seen = (request.headers.get("x-api-key") or request.headers.get("authorization", "")).removeprefix("Bearer ")
        return error_reply(401, "authentication_error", f"invalid x-api-key: {seen}")
    return Reply(headers={"content-type": "application/json"}, body=b"{}")


def test_keys_never_reach_ledger_logs_or_report(tmp_path, user_home):
    """Real claude with an API key, and a wrapped SDK app with a subscription-style bearer token and a
    key on its command line: lynkr's files (ledger, WAL, caches, JSON report) and its stderr hold none."""
    agent_binary("claude")
    home = tmp_path / "fresh-home" / "lynkr"  # does not exist yet: lynkr creates it
    report = tmp_path / "report.json"
    with FakeUpstream(_echoing_upstream) as upstream:
        env = base_env(home, user_home, ANTHROPIC_BASE_URL=upstream.url, ANTHROPIC_API_KEY=FAKE_ANTHROPIC_KEY)
        claude = run_lynkr(["run", "--report", "full", "--report-json", str(report), "claude", "-p", "hi"], env)
        script = ("import anthropic, os, sys\n"
                  "for c in (anthropic.Anthropic(auth_token=os.environ['TOKEN'], max_retries=0),\n"
                  "          anthropic.Anthropic(api_key=os.environ['GATEWAY_KEY'], max_retries=0)):\n"
                  "    try:\n"
                  "        c.messages.create(model='m', max_tokens=5, messages=[{'role': 'user', 'content': 'x'}])\n"
                  "    except anthropic.APIStatusError as e:\n"
                  "        print(e.status_code)\n")
        wrapped = run_lynkr(["run", "--report", "full", "--", sys.executable, "-c", script, "--api-key",
                             FAKE_ANTHROPIC_KEY], dict(env, TOKEN=OAUTH_TOKEN, GATEWAY_KEY=GATEWAY_KEY))
    assert wrapped.stdout.split() == ["401", "401"], wrapped.stderr
    assert claude.returncode != 0  # the upstream refused the key
    sessions, requests = ledger_rows(home)
    assert len(sessions) == 2 and requests and all(r["status"] == 401 for r in requests)
    written = _written_by_lynkr(home) + report.read_bytes() + claude.stderr.encode() + wrapped.stderr.encode()
    for secret in (FAKE_ANTHROPIC_KEY, OAUTH_TOKEN, GATEWAY_KEY, FAKE_ANTHROPIC_KEY[10:30], OAUTH_TOKEN[12:32]):
        at = written.find(secret.encode())
        assert at < 0, f"{secret[:12]}… written by lynkr: {written[max(0, at - 200):at + 60]!r}"
    # The upstream did get the credentials: they pass through, they are just never written down.
    assert any(r.headers.get("x-api-key") == FAKE_ANTHROPIC_KEY for r in upstream.received)
    assert any(r.headers.get("authorization") == f"Bearer {OAUTH_TOKEN}" for r in upstream.received)
    assert any(GATEWAY_KEY in r.headers.get("x-api-key", "") + r.headers.get("authorization", "")
               for r in upstream.received)
    assert any("[redacted]" in (r["error"] or "") for r in requests)  # the echo was stored, without the key


def test_files_and_directories_are_private(tmp_path):
    """Everything lynkr creates under a fresh LYNKR_HOME: files 0600, directories 0700."""
    home = tmp_path / "new" / "lynkr"
    script = ("import anthropic\n"
              "c = anthropic.Anthropic(max_retries=0)\n"
              "for _ in range(2):\n"
              "    c.messages.create(model='m', max_tokens=5, messages=[{'role': 'user', 'content': 'same'}])\n")
    with FakeUpstream(answer) as upstream:
        env = base_env(home, ANTHROPIC_BASE_URL=upstream.url, ANTHROPIC_API_KEY=FAKE_ANTHROPIC_KEY)
        result = run_lynkr(["run", "--report", "none", "--", sys.executable, "-c", script], env)
    assert result.returncode == 0, result.stderr
    paths = [home, *home.rglob("*")]
    assert any(p.name.startswith("ledger") for p in paths)
    for path in paths:
        mode = stat.S_IMODE(path.stat().st_mode)
        if path.is_dir():
            assert mode == 0o700, f"{path} is {oct(mode)}"
        else:
            assert mode & 0o077 == 0, f"{path} is {oct(mode)}"
