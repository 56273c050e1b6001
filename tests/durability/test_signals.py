"""The ledger survives however a session ends: Ctrl-C, SIGTERM, the agent killed, lynkr killed.

Real processes throughout: ``lynkr run -- python agent.py`` where the agent makes requests with the
official SDK through the proxy, then waits to be stopped. Every request the upstream answered must be
in the ledger afterwards, the session row must say how it ended, and a lynkr that was itself killed
leaves a session the next start marks ``interrupted``.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import FAKE_ANTHROPIC_KEY, base_env, ledger_rows, lynkr_command, run_lynkr
from tests.fakes.anthropic import Turn, messages_handler, reply_for
from tests.fakes.server import FakeUpstream

REQUESTS = 5
AGENT = f"""
import os, sys, time, anthropic
client = anthropic.Anthropic(max_retries=0)
for i in range({REQUESTS}):
    client.messages.create(model="claude-opus-4-8", max_tokens=8, messages=[{{"role": "user", "content": f"turn {{i}}"}}])
print(os.getpid(), flush=True)
time.sleep(120)
"""


@pytest.fixture
def upstream():
    handler = messages_handler(lambda request, body: reply_for(Turn(text="ok", input_tokens=10, output_tokens=3), request))
    with FakeUpstream(handler) as server:
        yield server


def start(lynkr_home: Path, upstream: FakeUpstream, tmp_path: Path) -> tuple[subprocess.Popen, int]:
    """lynkr in its own process group (as a shell runs a foreground job); returns it and the agent's pid
    once the agent has made all its requests."""
    script = tmp_path / "agent.py"
    script.write_text(AGENT)
    env = base_env(lynkr_home, ANTHROPIC_BASE_URL=upstream.url, ANTHROPIC_API_KEY=FAKE_ANTHROPIC_KEY)
    process = subprocess.Popen(lynkr_command("run", "--report", "short", "--", sys.executable, str(script)), env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    line = process.stdout.readline()  # type: ignore[union-attr]
    assert line.strip().isdigit(), process.communicate(timeout=30)
    return process, int(line)


def assert_complete(lynkr_home: Path, status: str, exit_code: int | None) -> dict:
    sessions, requests = ledger_rows(lynkr_home)
    (session,) = sessions
    assert session["status"] == status and session["exit_code"] == exit_code
    assert len(requests) == REQUESTS and all(r["status"] == 200 and r["input_tokens"] == 10 for r in requests)
    assert len({r["id"] for r in requests}) == REQUESTS
    return session


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def wait_gone(pid: int, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if gone(pid):
            return True
        time.sleep(0.05)
    return False


def test_ctrl_c_to_the_foreground_job(lynkr_home, upstream, tmp_path):
    process, agent = start(lynkr_home, upstream, tmp_path)
    os.killpg(process.pid, signal.SIGINT)  # what the terminal does on Ctrl-C: the whole job gets it
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 128 + signal.SIGINT  # python died of its KeyboardInterrupt re-raise
    assert "Traceback" not in stderr.split("KeyboardInterrupt")[-1]
    assert f"{REQUESTS} request" in stderr  # the exit report still printed
    assert_complete(lynkr_home, "finished", process.returncode)
    assert wait_gone(agent)


def test_sigterm_to_lynkr(lynkr_home, upstream, tmp_path):
    process, agent = start(lynkr_home, upstream, tmp_path)
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=30)
    assert process.returncode == 128 + signal.SIGTERM
    assert_complete(lynkr_home, "finished", process.returncode)
    assert wait_gone(agent)


def test_agent_killed_with_sigkill(lynkr_home, upstream, tmp_path):
    process, agent = start(lynkr_home, upstream, tmp_path)
    os.kill(agent, signal.SIGKILL)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 128 + signal.SIGKILL
    assert f"{REQUESTS} request" in stderr
    assert_complete(lynkr_home, "finished", 137)


def test_lynkr_killed_then_repaired_by_the_next_start(lynkr_home, upstream, tmp_path):
    process, agent = start(lynkr_home, upstream, tmp_path)
    ledger = lynkr_home / "ledger.sqlite3"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # the writer commits each row as it takes it; wait for all five
        with sqlite3.connect(ledger) as conn:
            if conn.execute("SELECT COUNT(*) FROM requests").fetchone()[0] == REQUESTS:
                break
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.communicate(timeout=30)
    assert wait_gone(agent), "the agent outlived a killed lynkr (orphan)"
    sessions, _ = ledger_rows(lynkr_home)
    assert sessions[0]["status"] == "running" and sessions[0]["ended_at"] is None

    again = run_lynkr(["run", "--report", "none", "--", "true"], base_env(lynkr_home))
    assert again.returncode == 0, again.stderr
    sessions, requests = ledger_rows(lynkr_home)
    killed = [s for s in sessions if s["status"] != "finished"]
    assert len(killed) == 1 and killed[0]["status"] == "interrupted"
    ends = [r["started_at"] + r["latency_ms"] / 1000 for r in requests if r["session_id"] == killed[0]["id"]]
    assert len(ends) == REQUESTS and killed[0]["ended_at"] == pytest.approx(max(ends))
    report = run_lynkr(["report", "--session", killed[0]["id"], "--json"], base_env(lynkr_home))
    assert report.returncode == 0 and killed[0]["id"] in report.stdout
