"""``lynkr serve`` as editors and SDKs use it: a real process, the official SDKs, the real ledger."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import anthropic
import httpx
import openai
import pytest

from tests.conftest import FAKE_ANTHROPIC_KEY, FAKE_OPENAI_KEY, base_env, ledger_rows, lynkr_command, run_lynkr
from tests.fakes.anthropic import Turn, reply_for
from tests.fakes.server import FakeUpstream, Received, Reply

CHAT_REPLY = {
    "id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": "gpt-4o-mini",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "pong"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
}


def handler(request: Received) -> Reply:
    if request.path.startswith("/v1/chat/completions"):
        return Reply(body=json.dumps(CHAT_REPLY).encode(), headers={"content-type": "application/json"})
    return reply_for(Turn(text="pong", input_tokens=7, output_tokens=1), request)


@pytest.fixture
def upstream():
    with FakeUpstream(handler) as server:
        yield server


class Served:
    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(lynkr_command("serve", *args), env=env, stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line)
            if "listening on" in line:
                self.root = line.rsplit(" ", 1)[1].strip()
            elif "Anthropic clients: base URL" in line:
                self.url = line.rsplit(" ", 1)[1].strip()  # with the token in its path
            elif "Ctrl-C stops" in line:
                break
        else:
            raise AssertionError("".join(self.lines))

    def stop(self, signum: int = signal.SIGTERM) -> tuple[int, str]:
        self.proc.send_signal(signum)
        rest = self.proc.stderr.read() if self.proc.stderr else ""
        return self.proc.wait(30), "".join(self.lines) + rest


def test_sdks_through_serve_one_session_per_client(upstream, tmp_path: Path) -> None:
    home = tmp_path / "lh"
    # Chat Completions clients go to the OpenAI upstream (OPENAI_BASE_URL), Anthropic ones to --upstream.
    served = Served(["--port", "0", "--upstream", upstream.url], base_env(home, OPENAI_BASE_URL=f"{upstream.url}/v1"))
    try:
        alice = anthropic.Anthropic(base_url=served.url, api_key=FAKE_ANTHROPIC_KEY, max_retries=0,
                                    default_headers={"X-Claude-Code-Session-Id": "alice"})
        bob = anthropic.Anthropic(base_url=served.url, api_key=FAKE_ANTHROPIC_KEY, max_retries=0,
                                  default_headers={"X-Claude-Code-Session-Id": "bob"})
        for client in (alice, alice, bob):
            message = client.messages.create(model="claude-haiku-4-5", max_tokens=5,
                                             messages=[{"role": "user", "content": "ping"}])
            assert message.content[0].text == "pong"
        with alice.messages.stream(model="claude-haiku-4-5", max_tokens=5,
                                   messages=[{"role": "user", "content": "ping"}]) as stream:
            assert stream.get_final_message().content[0].text == "pong"
        chat = openai.OpenAI(base_url=f"{served.url}/v1", api_key=FAKE_OPENAI_KEY, max_retries=0)
        completion = chat.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "ping"}])
        assert completion.choices[0].message.content == "pong"
    finally:
        code, log = served.stop()
    assert code == 0, log
    assert "stopped" in log and "3 session(s)" in log
    sessions, requests = ledger_rows(home)
    assert len(sessions) == 3 and all(s["status"] == "finished" for s in sessions)
    per_session = {s["id"]: [r for r in requests if r["session_id"] == s["id"]] for s in sessions}
    assert sorted(len(rows) for rows in per_session.values()) == [1, 1, 3]
    agents = sorted(s["agent"] for s in sessions)
    assert agents == ["anthropic-sdk", "anthropic-sdk", "openai-sdk"]
    report = run_lynkr(["report", "--last", "3", "--json"], base_env(home))
    assert report.returncode == 0 and len(json.loads(report.stdout)) == 3


def test_a_token_is_required_by_default_kept_private_and_reused(upstream, tmp_path: Path) -> None:
    """First start: a token is generated into a 0600 file and printed in the base URLs; every request
    without it is a 401; the next start uses the same token."""
    import stat

    home = tmp_path / "lh"
    env = base_env(home)
    body = {"model": "claude-haiku-4-5", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}
    served = Served(["--port", "0", "--upstream", upstream.url], env)
    try:
        token = (home / "serve-token").read_text().strip()
        assert len(token) >= 32 and served.url == f"{served.root}/s/{token}"
        assert stat.S_IMODE((home / "serve-token").stat().st_mode) == 0o600
        denied = httpx.post(f"{served.root}/v1/messages", json=body, headers={"x-api-key": FAKE_ANTHROPIC_KEY})
        assert denied.status_code == 401 and denied.json()["error"]["type"] == "authentication_error"
        in_path = anthropic.Anthropic(base_url=served.url, api_key=FAKE_ANTHROPIC_KEY, max_retries=0)
        assert in_path.messages.create(**body).content[0].text == "pong"
        in_header = anthropic.Anthropic(base_url=served.root, api_key=FAKE_ANTHROPIC_KEY, max_retries=0,
                                        default_headers={"X-Lynkr-Token": token})
        assert in_header.messages.create(**body).content[0].text == "pong"
        wrong = httpx.post(f"{served.root}/v1/messages", json=body, headers={"x-lynkr-token": "nope"})
        assert wrong.status_code == 401
    finally:
        code, log = served.stop(signal.SIGINT)
    assert code == 0, log
    assert f"kept in {home / 'serve-token'}" in log
    assert token not in "".join(json.dumps(r) for r in ledger_rows(home)[1])
    again = Served(["--port", "0", "--upstream", upstream.url], env)
    try:
        assert again.url.endswith(f"/s/{token}")
    finally:
        again.stop()


@pytest.mark.parametrize("args, said", [
    (["--token", "short-token"], "at least 32"),
    (["--token", "a" * 40], "repeats"),
    (["--host", "0.0.0.0", "--token", "a"], "at least 32"),
    (["--host", "0.0.0.0", "--no-token"], "--no-token is for loopback only"),
    (["--no-token", "--token", "x" * 40], "not both"),
])
def test_weak_tokens_and_no_token_beyond_loopback_are_refused(tmp_path: Path, args, said) -> None:
    refused = run_lynkr(["serve", "--port", "0", *args], base_env(tmp_path / "lh"), timeout=60)
    assert refused.returncode == 2 and said in refused.stderr and "Traceback" not in refused.stderr
    assert refused.stderr.count("\n") == 1  # one line


def test_serve_model_sends_every_client_to_one_provider(tmp_path: Path) -> None:
    from tests.fakes.ollama import ollama_handler

    with FakeUpstream(ollama_handler(lambda request, body: Turn(text="from ollama"))) as ollama:
        env = base_env(tmp_path / "lh", OLLAMA_HOST=f"127.0.0.1:{ollama.port}")
        served = Served(["--port", "0", "--token", "auto", "--model", "ollama:qwen2.5-coder:7b"], env)
        try:
            chat = openai.OpenAI(base_url=f"{served.url}/v1", api_key="unused", max_retries=0)
            reply = chat.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
            claude = anthropic.Anthropic(base_url=served.url, api_key=FAKE_ANTHROPIC_KEY, max_retries=0)
            message = claude.messages.create(model="claude-x", max_tokens=5, messages=[{"role": "user", "content": "hi"}])
        finally:
            code, log = served.stop()
        assert [r.json["model"] for r in ollama.received] == ["qwen2.5-coder:7b"] * 2
    assert code == 0, log
    assert reply.choices[0].message.content == "from ollama" and message.content[0].text == "from ollama"
    bad = run_lynkr(["serve", "--port", "0", "--model", "nosuch:x"], base_env(tmp_path / "lh2"), timeout=60)
    assert bad.returncode == 2 and "unknown provider 'nosuch'" in bad.stderr
