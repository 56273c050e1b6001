"""No secret in any process's argv: lynkr's Claude Code settings (which carry the session token) live in
a 0600 file in a 0700 directory, passed by path, and gone when the run ends, whether the agent exited,
lynkr was signalled, or lynkr was killed (then the next ``lynkr run`` sweeps it away).

Real processes: the pinned ``claude`` binary, lynkr as a user runs it, a fake Anthropic upstream that
holds the first model call open so the test can look at ``/proc`` while the agent runs."""

from __future__ import annotations

import json
import signal
import stat
import subprocess
import threading
from pathlib import Path

import pytest

from tests.conftest import FAKE_ANTHROPIC_KEY, agent_binary, base_env, lynkr_command, run_lynkr
from tests.fakes.anthropic import Turn, messages_handler, reply_for
from tests.fakes.server import FakeUpstream, Received, Reply

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs /proc")]


class HeldUpstream:
    """A fake Anthropic upstream whose model calls wait until ``release`` is set."""

    def __init__(self) -> None:
        self.reached, self.release = threading.Event(), threading.Event()

        def respond(request: Received, body: dict) -> Reply:
            self.reached.set()
            self.release.wait(60)
            return reply_for(Turn(text="done"), request)

        self.upstream = FakeUpstream(messages_handler(respond))

    def __enter__(self) -> "HeldUpstream":
        self.upstream.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.upstream.__exit__(*exc)


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found += [int(p) for p in text]
    return found


def cmdline(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")


def every_cmdline() -> list[str]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                out.append((entry / "cmdline").read_bytes().decode(errors="replace"))
            except OSError:
                pass
    return out


def start(lynkr_home: Path, user_home: Path, upstream_url: str, *args: str) -> subprocess.Popen[str]:
    env = base_env(lynkr_home, user_home, ANTHROPIC_BASE_URL=upstream_url, ANTHROPIC_API_KEY=FAKE_ANTHROPIC_KEY)
    return subprocess.Popen(lynkr_command("run", "claude", *args, "-p", "wait"), env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def agent_settings(lynkr: subprocess.Popen[str]) -> tuple[int, Path]:
    """The agent's pid and the settings file its argv names."""
    (agent,) = children(lynkr.pid)
    argv = cmdline(agent)
    return agent, Path(argv[argv.index("--settings") + 1])


def test_the_token_is_in_no_argv_and_the_settings_file_is_gone_after_the_run(lynkr_home, user_home, tmp_path):
    agent_binary("claude")
    mine = tmp_path / "my-settings.json"
    mine.write_text(json.dumps({"env": {"MY_OWN_SECRET": "my-own-secret-value"}}))
    mine.chmod(0o600)
    with HeldUpstream() as held:
        lynkr = start(lynkr_home, user_home, held.upstream.url, "--settings", str(mine))
        try:
            assert held.reached.wait(60), lynkr.stderr.read() if lynkr.poll() is not None else "no request"
            agent, settings_file = agent_settings(lynkr)
            settings = json.loads(settings_file.read_text())
            token = settings["env"]["ANTHROPIC_BASE_URL"].rsplit("/s/", 1)[1]
            assert len(token) >= 24
            # Nobody's argv holds the token or the user's own settings, the agent's least of all.
            assert not any(token in arg or "my-own-secret" in arg or str(mine) in arg for arg in cmdline(agent))
            assert not any(token in line for line in every_cmdline())
            # The file is the user's alone, in a directory that is the user's alone.
            assert stat.S_IMODE(settings_file.stat().st_mode) == 0o600
            assert stat.S_IMODE(settings_file.parent.stat().st_mode) == 0o700
            assert settings["env"]["MY_OWN_SECRET"] == "my-own-secret-value"  # merged, from the user's file
        finally:
            held.release.set()
            out, err = lynkr.communicate(timeout=60)
    assert lynkr.returncode == 0, err
    assert not settings_file.exists()
    assert list(settings_file.parent.iterdir()) == []


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_the_settings_file_is_removed_when_lynkr_is_signalled(lynkr_home, user_home, signum):
    agent_binary("claude")
    with HeldUpstream() as held:
        lynkr = start(lynkr_home, user_home, held.upstream.url)
        try:
            assert held.reached.wait(60)
            _, settings_file = agent_settings(lynkr)
            assert settings_file.exists()
            lynkr.send_signal(signum)
            lynkr.communicate(timeout=60)
        finally:
            if lynkr.poll() is None:
                lynkr.kill()
    assert lynkr.returncode == 128 + signum
    assert not settings_file.exists()


def test_the_settings_file_of_a_killed_run_is_swept_by_the_next_run(lynkr_home, user_home):
    agent_binary("claude")
    with HeldUpstream() as held:
        lynkr = start(lynkr_home, user_home, held.upstream.url)
        try:
            assert held.reached.wait(60)
            agent, settings_file = agent_settings(lynkr)
            lynkr.kill()  # SIGKILL: lynkr cannot clean up; the agent gets SIGTERM from the kernel
            lynkr.communicate(timeout=60)
        finally:
            if lynkr.poll() is None:
                lynkr.kill()
    assert settings_file.exists()
    # A run that is alive keeps its file while the next one starts.
    with HeldUpstream() as held:
        live = start(lynkr_home, user_home, held.upstream.url)
        try:
            assert held.reached.wait(60)
            _, live_file = agent_settings(live)
            assert not settings_file.exists()  # swept by this run's start
            other = run_lynkr(["run", "--report", "none", "--", "true"], base_env(lynkr_home, user_home))
            assert other.returncode == 0, other.stderr
            assert live_file.exists()  # still locked by the live run: not swept
        finally:
            held.release.set()
            live.communicate(timeout=60)
    assert not live_file.exists()
