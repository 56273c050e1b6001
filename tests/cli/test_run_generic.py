"""`lynkr run -- COMMAND`: arguments, exit codes, signals and the environment a wrapped tool sees."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from tests.conftest import FAKE_ANTHROPIC_KEY, base_env, ledger_rows, lynkr_command, run_lynkr
from tests.fakes.anthropic import Turn, messages_handler, reply_for
from tests.fakes.server import FakeUpstream

TRICKY_ARGS = ["-p", "it's a \"quote\"", "--", "--flag=value", "", "spaces  inside", "ünïcödé", "$HOME", "*"]


def test_arguments_reach_the_command_unchanged(lynkr_home):
    script = "import json, sys; print(json.dumps(sys.argv[1:]))"
    result = run_lynkr(["run", "--report", "none", "--", sys.executable, "-c", script, *TRICKY_ARGS],
                       base_env(lynkr_home))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == TRICKY_ARGS
    assert result.stderr == ""


def test_wrapped_tool_sees_the_proxy_and_loopback_no_proxy(lynkr_home):
    script = "import os, json; print(json.dumps({k: os.environ.get(k) for k in ('ANTHROPIC_BASE_URL', 'NO_PROXY', 'no_proxy')}))"
    env = base_env(lynkr_home, NO_PROXY="corp.internal")
    result = run_lynkr(["run", "--report", "none", "--", sys.executable, "-c", script], env)
    seen = json.loads(result.stdout)
    assert seen["ANTHROPIC_BASE_URL"].startswith("http://127.0.0.1:") and "/s/" in seen["ANTHROPIC_BASE_URL"]
    assert seen["NO_PROXY"] == seen["no_proxy"] == "corp.internal,127.0.0.1,localhost"


def test_exit_code_is_the_commands(lynkr_home):
    result = run_lynkr(["run", "--", sys.executable, "-c", "raise SystemExit(7)"], base_env(lynkr_home))
    assert result.returncode == 7
    sessions, _ = ledger_rows(lynkr_home)
    assert sessions[0]["exit_code"] == 7 and sessions[0]["status"] == "finished"


def test_death_by_signal_gives_128_plus_n(lynkr_home):
    result = run_lynkr(["run", "--", sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"],
                       base_env(lynkr_home))
    assert result.returncode == 128 + signal.SIGKILL


def test_a_mistyped_agent_names_the_agents_lynkr_knows_and_double_dash(lynkr_home):
    result = run_lynkr(["run", "claud", "-p", "hi"], base_env(lynkr_home))
    assert result.returncode == 127
    assert result.stderr.strip() == ("lynkr: 'claud' was not found on PATH: did you mean 'claude'? lynkr knows the "
                                     "agents claude and codex (lynkr run claude), and runs any other command after -- "
                                     "(lynkr run -- claud ...)")


def test_a_missing_command_after_double_dash_is_what_a_shell_would_say(lynkr_home):
    result = run_lynkr(["run", "--", "missing-cmd", "x"], base_env(lynkr_home))
    assert result.returncode == 127
    assert result.stderr.strip() == "lynkr: 'missing-cmd' was not found on PATH"
    assert "--agent-bin" not in result.stderr


def test_missing_agent_is_one_line_and_exit_127(lynkr_home):
    result = run_lynkr(["run", "claude", "-p", "hi"], dict(base_env(lynkr_home), PATH="/nonexistent"))
    assert result.returncode == 127
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "claude" in lines[0] and "npm install -g @anthropic-ai/claude-code" in lines[0]
    assert "Traceback" not in result.stderr


def test_agent_bin_overrides_path(lynkr_home, tmp_path):
    fake_claude = tmp_path / "my-claude"
    # Prints its argv and the settings file it was given (gone once the run ends).
    fake_claude.write_text(f"#!{sys.executable}\nimport json, sys\n"
                           "print(json.dumps([sys.argv[1:], json.load(open(sys.argv[2]))]))\n")
    fake_claude.chmod(0o755)
    result = run_lynkr(["run", "--report", "none", "--agent-bin", str(fake_claude), "claude", "-p", "hi"],
                       base_env(lynkr_home))
    assert result.returncode == 0, result.stderr
    argv, settings = json.loads(result.stdout)
    # Treated as Claude Code: lynkr's --settings file first, the user's arguments after, unchanged.
    assert argv[0] == "--settings" and argv[2:] == ["-p", "hi"]
    assert "ANTHROPIC_BASE_URL" in settings["env"]


def test_sigterm_to_lynkr_is_forwarded_and_the_session_recorded(lynkr_home, tmp_path):
    marker = tmp_path / "got-term"
    script = (
        "import signal, sys, time\n"
        f"def on_term(*_): open({str(marker)!r}, 'w').write('x'); sys.exit(42)\n"
        "signal.signal(signal.SIGTERM, on_term)\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)\n"
    )
    process = subprocess.Popen(lynkr_command("run", "--", sys.executable, "-c", script), env=base_env(lynkr_home),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "ready"
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)
    assert process.returncode == 42
    assert marker.exists()
    sessions, _ = ledger_rows(lynkr_home)
    assert sessions[0]["exit_code"] == 42


def test_sdk_in_a_wrapped_command_goes_through_the_proxy(lynkr_home):
    """`lynkr run -- python app.py`: an app using the official SDK is proxied and recorded."""
    script = (
        "import anthropic\n"
        "client = anthropic.Anthropic()\n"
        "message = client.messages.create(model='claude-haiku-4-5', max_tokens=50,"
        " messages=[{'role': 'user', 'content': 'hi'}])\n"
        "print(message.content[0].text)\n"
        "with client.messages.stream(model='claude-haiku-4-5', max_tokens=50,"
        " messages=[{'role': 'user', 'content': 'stream please'}]) as stream:\n"
        "    print(''.join(stream.text_stream))\n"
    )

    def respond(request, body):
        return reply_for(Turn(text=f"answer to {body['messages'][-1]['content']}", input_tokens=10, output_tokens=3),
                         request)

    with FakeUpstream(messages_handler(respond)) as upstream:
        env = base_env(lynkr_home, ANTHROPIC_BASE_URL=upstream.url, ANTHROPIC_API_KEY=FAKE_ANTHROPIC_KEY)
        result = run_lynkr(["run", "--", sys.executable, "-c", script], env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["answer to hi", "answer to stream please"]
    _, requests = ledger_rows(lynkr_home)
    assert [(r["streamed"], r["input_tokens"], r["model_used"]) for r in requests] == [
        (False, 10, "claude-haiku-4-5"), (True, 10, "claude-haiku-4-5")]
    assert "2 requests (0 errors)" in result.stderr


def test_version_and_help(lynkr_home):
    from lynkr_cli import __version__

    version = run_lynkr(["--version"], base_env(lynkr_home))
    assert version.returncode == 0 and version.stdout.strip() == f"lynkr {__version__}"
    help_text = run_lynkr(["--help"], base_env(lynkr_home))
    assert help_text.returncode == 0 and "run" in help_text.stdout and "report" in help_text.stdout


def test_report_command_reads_back_sessions(lynkr_home):
    env = base_env(lynkr_home)
    for code in (0, 3):
        run_lynkr(["run", "--report", "none", "--", sys.executable, "-c", f"raise SystemExit({code})"], env)
    last = run_lynkr(["report", "--json"], env)
    data = json.loads(last.stdout)
    assert len(data) == 1 and data[0]["exit_code"] == 3
    both = json.loads(run_lynkr(["report", "--last", "2", "--json"], env).stdout)
    assert [s["exit_code"] for s in both] == [3, 0]
    one = json.loads(run_lynkr(["report", "--session", both[1]["session_id"][:-1], "--json"], env).stdout)
    assert one["session_id"] == both[1]["session_id"]
    missing = run_lynkr(["report", "--session", "nope"], env)
    assert missing.returncode == 2 and "no session matches" in missing.stderr and "Traceback" not in missing.stderr


@pytest.mark.parametrize("report", ["short", "full"])
def test_a_closed_stderr_keeps_the_commands_exit_code_and_the_session(lynkr_home, report):
    """`lynkr run … 2>&1 | head -0`: the report cannot be printed, but the exit code stays the
    command's and the session is recorded."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        result = subprocess.run(lynkr_command("run", "--report", report, "--", sys.executable, "-c", "raise SystemExit(3)"),
                                env=base_env(lynkr_home), stderr=write_end, stdout=subprocess.DEVNULL, timeout=60)
    finally:
        os.close(write_end)
    assert result.returncode == 3
    sessions, _ = ledger_rows(lynkr_home)
    assert [(s["exit_code"], s["status"]) for s in sessions] == [(3, "finished")]
