"""Two or three real ``lynkr serve`` processes on one PostgreSQL database, as a team would run them.

Each replica has a LYNKR_HOME of its own (what they share must be in the database), the same config
(tiers, exact cache), the same serve token, and the same fake Anthropic upstream. Requests reach them
through the official Anthropic and OpenAI SDKs, or plain HTTP.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

from tests.conftest import FAKE_ANTHROPIC_KEY, base_env, lynkr_command, run_lynkr
from tests.fakes.anthropic import Turn, last_user_text, reply_for
from tests.fakes.server import FakeUpstream, Received, Reply

TOKEN = "serve-token-0123456789abcdefghijklmnopqrstu"
CONFIG = """
[tiers]
simple = "anthropic:claude-haiku-4-5"
complex = "anthropic:claude-sonnet-4-6"

[[routing.rules]]
pattern = "(?i)\\\\barchitecture\\\\b"
tier = "complex"

[cache]
mode = "exact"
"""
# claude-sonnet-4-6 at list price: 20,000 input tokens are $0.06, 100 output tokens $0.0015.
TURN = Turn(text="pong from upstream", input_tokens=20_000, output_tokens=100)


def upstream_handler(request: Received) -> Reply:
    text = last_user_text(request.json or {})
    if text.startswith("slow"):  # a long answer: the reload test sends SIGHUP in the middle of it
        reply = reply_for(Turn(text=" ".join(["word"] * 40), input_tokens=10, output_tokens=40), request)
        if reply.chunks is not None:
            reply.chunks = _slowly(list(reply.chunks))
        return reply
    if text.startswith("tool"):
        return reply_for(Turn(tool_calls=[("Read", {"file_path": "/tmp/x"})], input_tokens=10, output_tokens=5), request)
    return reply_for(TURN, request)


def _slowly(chunks: list[bytes]) -> Iterator[bytes]:
    for chunk in chunks:
        time.sleep(0.06)
        yield chunk


class Replica:
    """One ``lynkr serve`` process; ``url`` is its base URL without a token."""

    def __init__(self, name: str, root: Path, pg_url: str, upstream: str, extra: list[str] | None = None,
                 env: dict[str, str] | None = None) -> None:
        self.name = name
        self.home = root / name
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / "config").mkdir(exist_ok=True)
        (self.home / "config" / "config.toml").write_text(CONFIG)
        self.env = base_env(self.home, ANTHROPIC_API_KEY=FAKE_ANTHROPIC_KEY, **(env or {}))
        self.args = ["--port", "0", "--token", TOKEN, "--upstream", upstream, "--storage", pg_url, *(extra or [])]
        self.lines: list[str] = []
        self.start()

    def start(self) -> None:
        self.proc = subprocess.Popen(lynkr_command("serve", *self.args), env=self.env, cwd=self.home,
                                     stderr=subprocess.PIPE, text=True)
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line)
            if "listening on" in line or '"action":"listening"' in line:
                self.url = json.loads(line)["url"] if line.startswith("{") else line.rsplit(" ", 1)[1].strip()
                break
        else:
            raise AssertionError(f"replica {self.name} did not start:\n" + "".join(self.lines))
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line)

    def base(self, key: str) -> str:
        return f"{self.url}/s/{key}"

    def terminate(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)

    def signal(self, signum: int) -> None:
        self.proc.send_signal(signum)

    def stop(self) -> int:
        self.terminate()
        code = self.proc.wait(30)
        self._reader.join(5)
        return code

    @property
    def log(self) -> str:
        return "".join(self.lines)


def lynkr_keys(pg_url: str, home: Path, *args: str) -> Any:
    result = run_lynkr(["keys", *args, "--storage", pg_url], base_env(home), timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout) if "--json" in args else result.stdout


def messages(url: str, text: str, headers: dict[str, str] | None = None, stream: bool = False,
             model: str = "claude-sonnet-4-6", extra_messages: list[dict[str, Any]] | None = None) -> httpx.Response:
    body = {"model": model, "max_tokens": 50, "stream": stream,
            "messages": [*(extra_messages or []), {"role": "user", "content": text}]}
    return httpx.post(f"{url}/v1/messages", json=body, headers={"anthropic-version": "2023-06-01", **(headers or {})},
                      timeout=60)


def known_everywhere(replicas: list[Replica], token: str, timeout: float = 5.0) -> None:
    """Wait until every replica has read a new key: a malformed body is then a 400 (after
    admission, before any limit counts it), not the 401 of an unknown key."""
    for replica in replicas:
        wait_for(lambda r=replica: httpx.post(f"{r.base(token)}/v1/messages", content=b"{", timeout=10,
                                              headers={"content-type": "application/json"}).status_code == 400,
                 timeout=timeout, step=0.05)


def wait_for(condition, timeout: float = 20.0, step: float = 0.1):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(step)


@pytest.fixture(scope="module")
def team_db(postgres_server) -> str:  # type: ignore[no-untyped-def]
    return postgres_server.url(postgres_server.create_database())


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeUpstream]:
    with FakeUpstream(upstream_handler) as server:
        yield server


@pytest.fixture(scope="module")
def replicas(team_db: str, upstream: FakeUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Replica]]:
    root = tmp_path_factory.mktemp("replicas")
    started: list[Replica] = []
    try:
        for name in ("a", "b", "c"):
            started.append(Replica(name, root, team_db, upstream.url))
        yield started
    finally:
        for replica in started:  # all at once: each drains its connections in parallel
            replica.terminate()
        for replica in started:
            replica.stop()


def db_query(pg_url: str, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    import psycopg

    with psycopg.connect(pg_url) as conn:
        return conn.execute(sql, params).fetchall()


__all__ = ["Replica", "TOKEN", "db_query", "known_everywhere", "lynkr_keys", "messages", "os", "wait_for"]
