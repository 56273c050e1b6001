"""Shared fixtures: an isolated lynkr home, the real agent binaries, and running lynkr as users do.

Everything lynkr writes goes under a per-test ``tmp_path``; nothing touches the real ``~/.claude``,
``~/.codex`` or ``~/.local/share/lynkr``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.postgres import pg_url, postgres_server  # noqa: F401  (fixtures: a throwaway PostgreSQL)

REPO_ROOT = Path(__file__).resolve().parent.parent
AGENTS_DIR = Path(os.environ.get("LYNKR_AGENTS_DIR", Path.home() / ".cache" / "lynkr" / "agents"))
AGENTS_BIN = AGENTS_DIR / "node_modules" / ".bin"

# Keys the fakes accept; tests scan everything lynkr writes for them to prove nothing leaks.
FAKE_ANTHROPIC_KEY = "sk-ant-api03-FAKEKEY-0123456789abcdefghij"
FAKE_OPENAI_KEY = "sk-proj-FAKEKEY-0123456789abcdefghijklmn"


def agent_binary(name: str) -> str:
    """Path to a pinned agent CLI installed by ``scripts/install-agents``.

    In CI a missing binary is a failure (the install script should have run); locally it skips.
    """
    path = AGENTS_BIN / name
    if path.exists():
        return str(path)
    found = shutil.which(name)
    if found and os.environ.get("LYNKR_TEST_USE_PATH_AGENTS"):
        return found
    message = f"{name} not installed: run scripts/install-agents"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture
def lynkr_home(tmp_path: Path) -> Path:
    home = tmp_path / "lynkr-home"
    home.mkdir()
    return home


@pytest.fixture
def user_home(tmp_path: Path) -> Path:
    """A HOME where Claude Code's onboarding is done, so it runs without prompts."""
    home = tmp_path / "home"
    (home / ".claude").mkdir(parents=True)
    (home / ".claude.json").write_text(
        json.dumps({"hasCompletedOnboarding": True, "bypassPermissionsModeAccepted": True, "numStartups": 5})
    )
    return home


@pytest.fixture
def new_user_home(tmp_path: Path) -> Path:
    """A HOME where no agent ever ran: no ~/.claude, ~/.claude.json or ~/.codex, so no login, no
    onboarding done and no key. Use it with ``base_env`` and no provider key for the agent: this is
    the machine of someone who has never used Claude Code or Codex (or never logged in)."""
    home = tmp_path / "new-user-home"
    home.mkdir()
    return home


def base_env(lynkr_home: Path, user_home: Path | None = None, **extra: str) -> dict[str, str]:
    """A clean environment for running lynkr and an agent offline against fakes."""
    keep = ("PATH", "LANG", "LC_ALL", "TERM", "TMPDIR", "SYSTEMROOT")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env["PATH"] = f"{AGENTS_BIN}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = str(REPO_ROOT)
    env["LYNKR_HOME"] = str(lynkr_home)
    env["LYNKR_CONFIG_HOME"] = str(lynkr_home / "config")
    if user_home is not None:
        env["HOME"] = str(user_home)
        env["XDG_CONFIG_HOME"] = str(user_home / ".config")
    # Claude Code: no retries (errors must surface), no updater or telemetry traffic offline.
    env["CLAUDE_CODE_MAX_RETRIES"] = "0"
    env["DISABLE_AUTOUPDATER"] = "1"
    env["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"] = "1"
    env["DISABLE_TELEMETRY"] = "1"
    env.update(extra)
    return env


def run_lynkr(
    args: list[str],
    env: dict[str, str],
    timeout: float = 120,
    cwd: Path | None = None,
    input: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``lynkr ARGS`` as a user would (a separate process), capturing its output."""
    return subprocess.run(
        [sys.executable, "-m", "lynkr_cli", *args],
        env=env,
        cwd=cwd,
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def lynkr_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "lynkr_cli", *args]


def running_proxy(upstream_url: str, ledger_path: Path, token: str = "test-token", **context: object):
    """Start lynkr's real proxy in this process (Hypercorn thread, real ledger file).

    Returns a context manager yielding ``(base_url, ctx, ledger)``; ``base_url`` includes the token.
    """
    import contextlib

    from lynkr_cli.ledger import Ledger, SessionRecord
    from lynkr_cli.proxy.app import create_app
    from lynkr_cli.proxy.context import ProxyContext
    from lynkr_cli.proxy.server import ProxyServer, bind_socket

    @contextlib.contextmanager
    def manager():
        ledger = Ledger(ledger_path)
        ledger.start_session(
            SessionRecord(id="test-session", agent="test", argv=[], cwd=".", started_at=0.0, pid=os.getpid(),
                          lynkr_version="test")
        )
        ctx = ProxyContext(session_id="test-session", anthropic_upstream=upstream_url, ledger=ledger, token=token,
                           **context)  # type: ignore[arg-type]
        server = ProxyServer(bind_socket(), lambda: create_app(ctx))
        server.start()
        assert server.wait_serving(30), server.error
        try:
            yield f"{server.url}/s/{token}", ctx, ledger
        finally:
            server.stop()
            ledger.finish_session("test-session", 0)
            ledger.flush()
            ledger.close()

    return manager()


def ledger_rows(lynkr_home: Path) -> tuple[list[dict], list[dict]]:
    """All sessions and requests recorded under ``lynkr_home``, read back from the SQLite file."""
    from lynkr_cli.ledger import LedgerReader

    reader = LedgerReader(lynkr_home / "ledger.sqlite3")
    try:
        sessions = reader.sessions(last=0)
        requests = [r for s in sessions for r in reader.requests(s["id"])]
    finally:
        reader.close()
    return sessions, requests
