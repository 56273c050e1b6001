"""lynkr in Claude Code's status line, with the REAL pinned ``claude`` run by ``lynkr run claude``.

On a pty (80 columns, read with pyte), Claude Code itself runs the ``statusLine`` command lynkr put in
its settings after each message: the user's own status line (from ``~/.claude/settings.json``) comes
first and lynkr's live figures follow. In print mode the command is read from the settings file the
agent was given (named in its argv, read from ``/proc``) and run with Claude Code's status-line JSON on
stdin, covering a user status line passed with ``--settings`` and the ``[statusline] mode`` values."""

from __future__ import annotations

import json
import re
import subprocess
import threading
from pathlib import Path

import pytest

from tests.conftest import FAKE_ANTHROPIC_KEY, agent_binary, base_env, lynkr_command
from tests.e2e.screen import CTRL_C, ENTER, AgentScreen
from tests.e2e.test_new_user import finish_claude_onboarding
from tests.fakes.anthropic import Turn, messages_handler, reply_for
from tests.fakes.server import FakeUpstream, Received, Reply

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs /proc")]

# What Claude Code wrote on stdin to a statusLine command (captured from 2.1.197 by the first test;
# the fields the status line protocol documents).
STATUS_JSON = {"hook_event_name": "Status", "session_id": "6f1c1f7e-8d0a-4f5e-9a57-0d6f3c2b9e11",
               "transcript_path": "/tmp/t.jsonl", "cwd": "/tmp", "model": {"id": "claude-opus-5-5",
               "display_name": "Opus 5.5"}, "workspace": {"current_dir": "/tmp", "project_dir": "/tmp"},
               "version": "2.1.197", "output_style": {"name": "default"},
               "cost": {"total_cost_usd": 0.01, "total_duration_ms": 1000}}


def answer(text: str):  # type: ignore[no-untyped-def]
    def respond(request: Received, body: dict) -> Reply:
        return reply_for(Turn(text=text, model="claude-opus-5-5", input_tokens=1200, output_tokens=80,
                              cache_read_tokens=20_000, cache_write_tokens=3_000), request)

    return messages_handler(respond)


def test_claude_code_shows_the_users_status_line_then_lynkrs_live_figures(lynkr_home, user_home, tmp_path):
    agent_binary("claude")
    project = tmp_path / "project"
    project.mkdir()
    dump = tmp_path / "status-stdin.json"
    state = json.loads((user_home / ".claude.json").read_text())  # the user approved their key once
    state["customApiKeyResponses"] = {"approved": [FAKE_ANTHROPIC_KEY[-20:]], "rejected": []}
    (user_home / ".claude.json").write_text(json.dumps(state))
    (user_home / ".claude" / "settings.json").write_text(json.dumps(
        {"statusLine": {"type": "command", "command": f"cat > {dump}; echo MINE-STATUS"}}))
    with FakeUpstream(answer("Interactive answer")) as upstream:
        env = base_env(lynkr_home, user_home, ANTHROPIC_BASE_URL=upstream.url, ANTHROPIC_API_KEY=FAKE_ANTHROPIC_KEY,
                       TERM="xterm-256color")
        screen = AgentScreen(lynkr_command("run", "claude", "--model", "claude-opus-5-5"), env, project, columns=120)
        try:
            finish_claude_onboarding(screen)
            screen.expect(r"MINE-STATUS · lynkr · no requests yet", timeout=60)
            screen.type(*"say hi", ENTER)
            screen.expect(r"Interactive answer", timeout=60)
            # $0.0153 = 1,200 in x $4/M + 80 out x $20/M + 20k cache reads x $0.2/M + 3k writes x $5/M
            screen.expect(r"MINE-STATUS · lynkr · \$0\.0\d+", timeout=30)
            screen.type(CTRL_C, CTRL_C)
            screen.wait(60)
        finally:
            screen.kill()
    sent = json.loads(dump.read_text())  # what the real Claude Code gives a status line command
    assert sent["session_id"] and "model" in sent and "workspace" in sent
    assert "\x1b" not in screen.text


class HeldUpstream:
    """Answers priced model calls; the first one waits until ``release`` is set."""

    def __init__(self) -> None:
        self.reached, self.release = threading.Event(), threading.Event()
        self.count = 0

        def respond(request: Received, body: dict) -> Reply:
            self.count += 1
            if self.count == 1:
                self.reached.set()
                self.release.wait(60)
            return reply_for(Turn(text="done", model="claude-opus-5-5", input_tokens=1000, output_tokens=100,
                                  cache_read_tokens=10_000), request)

        self.upstream = FakeUpstream(messages_handler(respond))


def status_line_of(settings: dict, env: dict[str, str]) -> str:
    """Run the settings' statusLine command as Claude Code does: a shell, its JSON on stdin."""
    line = settings["statusLine"]
    assert line["type"] == "command"
    done = subprocess.run(line["command"], shell=True, input=json.dumps(STATUS_JSON), capture_output=True,
                          text=True, env=env, timeout=30)
    assert done.returncode == 0, done.stderr
    return done.stdout


def run_held(lynkr_home: Path, user_home: Path, *args: str, **extra: str) -> tuple[dict, str, str, dict[str, str]]:
    """``lynkr run claude --model claude-opus-5-5 ARGS -p hi`` (the newest model) against a held upstream: the agent's settings, and the status
    line run while the first request is held and again after the run."""
    agent_binary("claude")
    held = HeldUpstream()
    with held.upstream:
        env = base_env(lynkr_home, user_home, ANTHROPIC_BASE_URL=held.upstream.url,
                       ANTHROPIC_API_KEY=FAKE_ANTHROPIC_KEY, **extra)
        lynkr = subprocess.Popen(lynkr_command("run", "claude", "--model", "claude-opus-5-5", *args, "-p", "hi"), env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
        try:
            assert held.reached.wait(60), lynkr.stderr.read() if lynkr.poll() is not None else "no request"
            agent = int(Path(f"/proc/{lynkr.pid}/task/{lynkr.pid}/children").read_text().split()[0])
            argv = Path(f"/proc/{agent}/cmdline").read_bytes().decode().split("\0")
            settings = json.loads(Path(argv[argv.index("--settings") + 1]).read_text())
            shell_env = {k: v for k, v in env.items() if k in ("PATH", "HOME", "PYTHONPATH", "LYNKR_HOME")}
            during = status_line_of(settings, shell_env)
        finally:
            held.release.set()
            out, err = lynkr.communicate(timeout=60)
    assert lynkr.returncode == 0, err
    return settings, during, status_line_of(settings, shell_env), shell_env


def test_a_status_line_given_with_settings_is_kept_in_front(lynkr_home, user_home, tmp_path):
    mine = tmp_path / "my-settings.json"
    mine.write_text(json.dumps({"statusLine": {"type": "command", "command": "echo FROM-SETTINGS-FLAG",
                                               "padding": 2}}))
    (user_home / ".claude" / "settings.json").write_text(json.dumps(
        {"statusLine": {"type": "command", "command": "echo FROM-HOME"}}))  # --settings wins, as in Claude Code
    settings, during, after, _ = run_held(lynkr_home, user_home, "--settings", str(mine))
    assert settings["statusLine"]["padding"] == 2
    assert "\x1b[1;36mlynkr\x1b[0m" in during  # Claude Code renders ANSI colour in its status line
    assert plain(during) == "FROM-SETTINGS-FLAG · lynkr · no requests yet\n"
    # 1,000 in x $4/M + 100 out x $20/M + 10k cache reads x $0.2/M (genai-prices' claude-opus-5-5)
    assert plain(after) == "FROM-SETTINGS-FLAG · lynkr · $0.008\n", after


def plain(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


@pytest.mark.parametrize(("mode", "expected"), [
    ("append", "FROM-HOME · lynkr · $0.008"),
    ("replace", "lynkr · $0.008"),
    ("off", "FROM-HOME\n"),
])
def test_the_mode_setting_chooses_whose_line_is_shown(lynkr_home, user_home, mode, expected):
    (user_home / ".claude" / "settings.json").write_text(json.dumps(
        {"statusLine": {"type": "command", "command": "echo FROM-HOME"}}))
    _, _, after, _ = run_held(lynkr_home, user_home, LYNKR_STATUSLINE__MODE=mode)
    assert plain(after).startswith(expected), after
    if mode == "off":
        assert after == expected


def test_without_a_status_line_of_its_own_the_user_gets_lynkrs(lynkr_home, user_home):
    settings, during, after, env = run_held(lynkr_home, user_home)
    assert "--then" not in settings["statusLine"]["command"]
    assert plain(during) == "lynkr · no requests yet\n"
    assert plain(after).startswith("lynkr · $0.008"), after
    no_colour = status_line_of(settings, {**env, "NO_COLOR": "1"})
    assert no_colour == plain(after)
