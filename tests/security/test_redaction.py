"""Nothing secret written down: a gateway that echoes every header it got, and a command line full of
credentials. Every byte lynkr leaves behind (``$LYNKR_HOME``: ledger, WAL, log; the JSON report;
its stdout and stderr) is scanned for each secret."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tests.conftest import base_env, ledger_rows, run_lynkr
from tests.fakes.server import FakeUpstream, Received, Reply

# Shapes no key pattern knows: only their header names (or the request itself) say they are secret.
GATEWAY_KEY = "corpgw.7f3a9c2e1b4d8f60a5e7"
APIM_KEY = "3f9a1c07d2b84e6fa0c5b7d9e2f41a68"
PORTKEY = "pk.live.Qm9yZ2V0IGl0IDEyMzQ1Ng"
COOKIE = "sess-8d7e6f5a4b3c2d1e"
ARGV_SECRETS = ["hdr.value.91827364", "tok.value.56473829", "env.value.11223344", "cookie.value.99887766"]


def echo_everything(request: Received) -> Reply:
    """A gateway's 401 quoting the request back: its headers as JSON and as header lines."""
    lines = "\n".join(f"{k}: {v}" for k, v in request.headers.items())
    message = f"denied; request headers: {json.dumps(request.headers)}\n{lines}"
    body = {"type": "error", "error": {"type": "authentication_error", "message": message}}
    return Reply(status=401, headers={"content-type": "application/json"}, body=json.dumps(body).encode())


CLIENT = """
import http.client, json, os, sys, time
from urllib.parse import urlsplit
base = urlsplit(os.environ["ANTHROPIC_BASE_URL"])
token = base.path.rsplit("/s/", 1)[1]
headers = {"content-type": "application/json", "anthropic-version": "2023-06-01",
           "x-api-key": os.environ["GATEWAY_KEY"], "Ocp-Apim-Subscription-Key": os.environ["APIM_KEY"],
           "x-portkey-api-key": os.environ["PORTKEY"], "Cookie": "session=" + os.environ["COOKIE"] + "; theme=dark",
           "X-Lynkr-Token": token}
body = json.dumps({"model": "m", "max_tokens": 5, "stream": False,
                   "messages": [{"role": "user", "content": "x"}]}).encode()
# One keep-alive connection, kept open until the end: each answer is recorded before the client goes.
connection = http.client.HTTPConnection(base.hostname, base.port, timeout=30)
for path in ("/v1/messages", "/v1/messages/count_tokens", "/v1/messages?beta=true"):
    connection.request("POST", base.path + path, body=body, headers=headers)
    answer = connection.getresponse()
    answer.read()
    print(answer.status)
time.sleep(0.5)
connection.close()
print(token)
"""

def test_echoed_headers_and_argv_secrets_are_never_written(tmp_path: Path) -> None:
    home = tmp_path / "lh"
    report = tmp_path / "report.json"
    with FakeUpstream(echo_everything) as upstream:
        env = base_env(home, ANTHROPIC_BASE_URL=upstream.url, GATEWAY_KEY=GATEWAY_KEY, APIM_KEY=APIM_KEY,
                       PORTKEY=PORTKEY, COOKIE=COOKIE)
        argv = ["-H", f"x-api-key: {ARGV_SECRETS[0]}", "--header", f"Authorization: Token {ARGV_SECRETS[1]}",
                f"MY_SECRET={ARGV_SECRETS[2]}", f"-HCookie: sid={ARGV_SECRETS[3]}"]
        result = run_lynkr(["run", "--report", "full", "--report-json", str(report), "--", sys.executable, "-c",
                            CLIENT, *argv], env)
    *codes, token = result.stdout.split()
    assert codes == ["401", "401", "401"] and result.returncode == 0, result.stderr
    # The client's own headers went upstream (they are its business); lynkr's token did not.
    sent = json.dumps([r.headers for r in upstream.received]) + "".join(r.path for r in upstream.received)
    assert APIM_KEY in sent and PORTKEY in sent and COOKIE in sent and GATEWAY_KEY in sent
    assert token not in sent and "x-lynkr-token" not in sent.lower()
    sessions, requests = ledger_rows(home)
    messages = [r for r in requests if r["route"] == "/v1/messages"]
    assert len(requests) == 3 and len(messages) == 2 and all(r["status"] == 401 for r in requests)
    assert all("request headers" in r["error"] and "[redacted]" in r["error"] for r in messages)  # kept, minus secrets
    (session,) = sessions
    assert "MY_SECRET=[redacted]" in session["argv"] and "-H" in session["argv"]
    written = b"".join(p.read_bytes() for p in sorted(home.rglob("*")) if p.is_file())
    written += report.read_bytes() + result.stderr.encode() + result.stdout.replace(token, "").encode()
    for secret in (GATEWAY_KEY, APIM_KEY, PORTKEY, COOKIE, token, *ARGV_SECRETS):
        at = written.find(secret.encode())
        assert at < 0, f"{secret} written by lynkr: {written[max(0, at - 120):at + 40]!r}"
