"""A ledger lynkr cannot use (a directory in its place, corrupt pages in the middle of the file): one
line naming it, the agent's exit code kept under ``run``, ``serve`` and ``report`` exit 1 -- never a
traceback."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests.conftest import FAKE_ANTHROPIC_KEY, base_env, run_lynkr
from tests.security.conftest import TOKEN

PAGE = 4096


def corrupt_ledger(home: Path) -> Path:
    """A ledger with 300 sessions whose pages after the first (the header and schema) are overwritten
    with random bytes: it opens, and reading any table fails as a bad disk sector would make it."""
    from lynkr_cli.ledger import Ledger, RequestRecord, SessionRecord

    path = home / "ledger.sqlite3"
    ledger = Ledger(path)
    for i in range(300):
        ledger.start_session(SessionRecord(id=f"s{i:03d}", agent="claude", argv=["claude", "-p", "x" * 300],
                                           cwd="/", started_at=float(i), pid=1, lynkr_version="t"))
        ledger.record_request(RequestRecord(session_id=f"s{i:03d}", started_at=float(i), route="/v1/messages"))
    ledger.finish_session("s000", 0)
    ledger.flush()
    ledger.close()
    for suffix in ("-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    data = bytearray(path.read_bytes())
    assert len(data) > 20 * PAGE
    for offset in range(PAGE, len(data), PAGE):
        data[offset:offset + PAGE] = os.urandom(PAGE)
    path.write_bytes(bytes(data))
    return path


@pytest.fixture(params=["directory", "corrupt pages"])
def broken_home(request, tmp_path: Path) -> tuple[Path, Path]:
    home = tmp_path / "lh"
    home.mkdir()
    if request.param == "directory":
        path = home / "ledger.sqlite3"
        path.mkdir()
    else:
        path = corrupt_ledger(home)
    return home, path


def test_run_keeps_the_agents_exit_code_and_says_it_once(broken_home) -> None:
    home, path = broken_home
    result = run_lynkr(["run", "--", "sh", "-c", "exit 7"], base_env(home))
    assert result.returncode == 7, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.count(str(path)) == 1 and "move it aside or delete it" in result.stderr


def test_report_is_one_line_and_exit_1(broken_home) -> None:
    home, path = broken_home
    for args in (["report"], ["report", "--all"], ["report", "--last", "5", "--json"]):
        result = run_lynkr(args, base_env(home))
        assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
        assert result.stderr.strip().splitlines() == [
            f"lynkr: {path} is not a readable lynkr database ({_cause(path)}); move it aside or delete it, "
            "and lynkr starts a new one"]


def _cause(path: Path) -> str:
    return "it is a directory" if path.is_dir() else "database disk image is malformed"


def test_serve_says_it_in_one_line(broken_home) -> None:
    """``lynkr serve`` keeps its user keys in the same database: it does not start on a file it cannot
    read, and says which file and what to do."""
    home, path = broken_home
    result = run_lynkr(["serve", "--port", "0", "--token", TOKEN], base_env(home, ANTHROPIC_API_KEY=FAKE_ANTHROPIC_KEY))
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.strip().splitlines() == [
        f"lynkr: {path} is not a readable lynkr database ({_cause(path)}); move it aside or delete it, "
        "and lynkr starts a new one"]


def test_the_agent_keeps_its_exit_code_when_lynkr_home_is_unusable(tmp_path: Path) -> None:
    """LYNKR_HOME under a file: the ledger and the proxy's log file cannot be created; the agent still
    runs with its proxy and its exit code (the log file's failure no longer stops the proxy)."""
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    env = base_env(tmp_path / "lh") | {"LYNKR_HOME": str(blocker / "home")}
    for _ in range(3):  # the proxy and the ledger fail on two threads: no ordering of them may matter
        run = run_lynkr(["run", "--", sys.executable, "-c", "raise SystemExit(5)"], env)
        assert run.returncode == 5 and "Traceback" not in run.stderr
        assert run.stderr.count(f"cannot create {blocker / 'home' / 'ledger.sqlite3'}: Not a directory") == 1
