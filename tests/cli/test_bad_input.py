"""Bad input to ``lynkr optimize`` and to the config files is one clear line with exit 2, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import base_env, run_lynkr

BODY = {"model": "claude-sonnet-4-5", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}


@pytest.mark.parametrize(("body", "message"), [
    ({"messages": 5}, "not a valid anthropic request body: 'messages' must be a list of objects"),
    ({"messages": [5]}, "not a valid anthropic request body: 'messages' must be a list of objects"),
    ({"messages": [], "tools": 3}, "not a valid anthropic request body: 'tools' must be a list"),
    ({"input": 5}, "not a valid openai-responses request body: 'input' must be a list of objects"),
])
def test_optimize_names_a_body_of_the_wrong_shape(body: dict, message: str, tmp_path: Path) -> None:
    result = run_lynkr(["optimize", "-"], base_env(tmp_path / "lh"), input=json.dumps(body))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip() == f"lynkr: {message}"


def test_optimize_report_json_that_cannot_be_written(tmp_path: Path) -> None:
    target = tmp_path / "missing" / "report.json"
    result = run_lynkr(["optimize", "--report-json", str(target), "-"], base_env(tmp_path / "lh"),
                       input=json.dumps(BODY))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"lynkr: cannot write --report-json {target}: No such file or directory" in result.stderr


def test_a_config_file_that_is_not_utf8_is_named(tmp_path: Path) -> None:
    (tmp_path / "lynkr.toml").write_bytes(b'[tiers]\nsimple = "\xff"\n')
    result = run_lynkr(["config", "validate"], base_env(tmp_path / "lh"), cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip() == f"lynkr: invalid TOML in {tmp_path / 'lynkr.toml'}: not UTF-8 text (byte 18)"


def test_serve_says_whether_the_host_or_the_port_is_at_fault(tmp_path: Path) -> None:
    import socket

    env = base_env(tmp_path / "lh")
    host = run_lynkr(["serve", "--host", "nosuch.invalid", "--port", "0", "--token", "auto"], env, timeout=60)
    assert host.returncode == 2 and "Traceback" not in host.stderr
    assert host.stderr.startswith("lynkr: cannot bind nosuch.invalid:0: ")
    assert host.stderr.strip().endswith("(check --host)")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        busy = run_lynkr(["serve", "--port", str(port)], env, timeout=60)
    assert busy.returncode == 2
    assert busy.stderr.strip() == (
        f"lynkr: cannot bind 127.0.0.1:{port}: Address already in use (try --port 0 or another port)")


def test_a_corrupt_ledger_or_cache_file_is_one_line_and_the_agent_keeps_its_exit_code(tmp_path: Path) -> None:
    import sys

    home = tmp_path / "lh"
    home.mkdir()
    (home / "ledger.sqlite3").write_text("not a database\n")
    (home / "cache.sqlite3").write_text("not a database\n")
    env = base_env(home)
    said = f"{home / 'ledger.sqlite3'} is not a readable lynkr database (file is not a database); move it aside"
    report = run_lynkr(["report"], env)
    assert report.returncode == 1 and "Traceback" not in report.stderr and said in report.stderr
    run = run_lynkr(["run", "--", sys.executable, "-c", "raise SystemExit(4)"], env)
    assert run.returncode == 4 and "Traceback" not in run.stderr
    assert run.stderr.count(said) == 1
    stats = run_lynkr(["cache", "stats"], env)
    assert stats.returncode == 1 and "Traceback" not in stats.stderr
    assert f"{home / 'cache.sqlite3'} is not a readable lynkr database" in stats.stderr


def test_a_lynkr_home_or_config_dir_that_cannot_be_created(tmp_path: Path) -> None:
    import sys

    blocker = tmp_path / "a-file"
    blocker.write_text("")
    env = base_env(tmp_path / "lh") | {"LYNKR_HOME": str(blocker / "home")}
    run = run_lynkr(["run", "--", sys.executable, "-c", "raise SystemExit(5)"], env)
    assert run.returncode == 5 and "Traceback" not in run.stderr
    assert run.stderr.count(f"cannot create {blocker / 'home' / 'ledger.sqlite3'}: Not a directory") == 1
    init = run_lynkr(["init", "-y"], base_env(tmp_path / "lh") | {"LYNKR_CONFIG_HOME": str(blocker)})
    assert init.returncode == 2 and "Traceback" not in init.stderr
    assert init.stderr.strip() == f"lynkr: cannot write {blocker / 'config.toml'}: File exists ({blocker})"


def test_explain_names_a_request_file_that_is_not_utf8(tmp_path: Path) -> None:
    body = tmp_path / "body.json"
    body.write_bytes(b'\xff{"messages": []}')
    result = run_lynkr(["explain", "--request", str(body)], base_env(tmp_path / "lh"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip() == f"lynkr: {body} is not valid JSON (not UTF-8 text, byte 0)"


def test_an_agent_that_cannot_be_executed_is_one_line_and_exit_126(tmp_path: Path) -> None:
    script = tmp_path / "agent"
    script.write_text("#!/nonexistent/interpreter\n")
    script.chmod(0o755)
    env = base_env(tmp_path / "lh")
    result = run_lynkr(["run", "--", str(script)], env)
    assert result.returncode == 126 and "Traceback" not in result.stderr
    assert result.stderr.strip() == f"lynkr: cannot run {script}: the interpreter on its #! line was not found"
    directory = run_lynkr(["run", "--agent-bin", str(tmp_path), "claude"], env)
    assert directory.returncode in (126, 127) and "Traceback" not in directory.stderr
    assert str(tmp_path) in directory.stderr
