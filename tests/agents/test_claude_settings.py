"""How lynkr folds its proxy settings into Claude Code's command line: one ``--settings`` FILE, private
to the user, holding the user's settings with lynkr's on top; no setting's value on the command line."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from lynkr_cli.agents.base import ProxyEndpoint
from lynkr_cli.agents.claude import ClaudeAgent
from lynkr_cli.agents.private import PrivateFiles
from lynkr_cli.errors import UsageError

TOKEN = "tok-0123456789abcdefghijklmnopqrstuvwxyzABCD"
BASE = f"http://127.0.0.1:5555/s/{TOKEN}"


@pytest.fixture
def files(tmp_path: Path):
    files = PrivateFiles.for_run(tmp_path / "lynkr-home")
    yield files
    files.close()


def launch(args: list[str], files: PrivateFiles, env: dict[str, str] | None = None, token_as_key: bool = False):
    endpoint = ProxyEndpoint(BASE, token=TOKEN, token_as_key=token_as_key)
    return ClaudeAgent().launch("/bin/claude", args, endpoint, env if env is not None else {"PATH": "/bin"}, files)


def settings_of(argv: list[str]) -> dict:
    values = [argv[i + 1] for i, a in enumerate(argv) if a == "--settings"]
    assert len(values) == 1, argv
    path = Path(values[0])
    assert path.is_absolute() and path.is_file()
    return json.loads(path.read_text())


def test_settings_go_in_a_private_file_and_no_secret_is_in_argv(files, tmp_path):
    argv = launch(["-p", "hi"], files, token_as_key=True).argv
    assert not any(TOKEN in a for a in argv), argv
    path = Path(argv[argv.index("--settings") + 1])
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700 and path.parent.stat().st_uid == os.getuid()
    env = settings_of(argv)["env"]
    assert env["ANTHROPIC_BASE_URL"] == BASE and env["ANTHROPIC_AUTH_TOKEN"] == TOKEN
    files.close()
    assert not path.exists()


def test_without_user_settings_lynkr_settings_go_first_and_args_are_unchanged(files):
    args = ["-p", "it's \"quoted\"", "--output-format", "json", "--", "--not-an-option"]
    argv = launch(args, files).argv
    assert argv[0] == "/bin/claude" and argv[1] == "--settings" and argv[3:] == args
    assert settings_of(argv)["env"]["ANTHROPIC_BASE_URL"] == BASE


def test_user_inline_settings_are_merged_in_place(files):
    user = {"model": "opus", "env": {"FOO": "1", "ANTHROPIC_BASE_URL": "http://gateway"}}
    argv = launch(["--resume", "abc", "--settings", json.dumps(user), "-p", "hi"], files).argv
    assert argv[1:3] == ["--resume", "abc"] and argv[3] == "--settings" and argv[5:] == ["-p", "hi"]
    assert not any("opus" in a for a in argv)  # the user's JSON is in the file, not on the command line
    merged = settings_of(argv)
    assert merged["model"] == "opus"
    assert merged["env"]["FOO"] == "1"
    assert merged["env"]["ANTHROPIC_BASE_URL"] == BASE


def test_a_user_settings_file_is_read_not_passed_on(files, tmp_path):
    mine = tmp_path / "mine.json"
    mine.write_text(json.dumps({"env": {"SECRET_OF_MINE": "s3cr3t"}, "apiKeyHelper": "pass show x"}))
    mine.chmod(0o600)
    argv = launch(["--settings", str(mine), "-p", "x"], files).argv
    assert str(mine) not in argv and not any("s3cr3t" in a for a in argv)
    merged = settings_of(argv)
    assert merged["env"]["SECRET_OF_MINE"] == "s3cr3t" and merged["apiKeyHelper"] == "pass show x"


def test_last_of_several_settings_wins_like_claude_code(files, tmp_path):
    first = tmp_path / "a.json"
    first.write_text(json.dumps({"env": {"A": "1"}}))
    argv = launch(["--settings", str(first), "--settings={\"env\": {\"B\": \"2\"}}", "-p", "x"], files).argv
    merged = settings_of(argv)
    assert merged["env"].get("B") == "2" and "A" not in merged["env"]
    assert argv[1] == "--settings" and argv[3:] == ["-p", "x"]


def test_user_no_proxy_entries_are_kept(files):
    argv = launch(["--settings", json.dumps({"env": {"NO_PROXY": "corp.example"}})], files).argv
    assert settings_of(argv)["env"]["NO_PROXY"].split(",") == ["corp.example", "127.0.0.1", "localhost"]


def test_settings_after_double_dash_is_a_prompt_not_an_option(files):
    args = ["-p", "--", "--settings", "literal"]
    argv = launch(args, files).argv
    assert argv[3:] == args


@pytest.mark.parametrize("value", ["{not json", "[1, 2]", "/nonexistent/settings.json"])
def test_unusable_user_settings_is_a_clear_error(files, value):
    with pytest.raises(UsageError) as info:
        launch(["--settings", value], files)
    assert "--settings" in str(info.value)


def test_launch_points_process_env_too_and_adds_loopback_to_no_proxy(files):
    result = launch(["-p", "x"], files, {"NO_PROXY": "internal", "PATH": "/bin"})
    assert result.argv[0] == "/bin/claude" and result.argv[-2:] == ["-p", "x"]
    assert result.env["ANTHROPIC_BASE_URL"] == BASE
    assert result.env["NO_PROXY"] == result.env["no_proxy"] == "internal,127.0.0.1,localhost"


def test_the_token_as_key_replaces_the_users_own_key_for_this_run_only(files):
    env = {"PATH": "/bin", "ANTHROPIC_API_KEY": "sk-ant-mine", "CLAUDE_CODE_OAUTH_TOKEN": "sk-ant-oat-mine"}
    result = launch(["-p", "x"], files, env, token_as_key=True)
    settings_env = settings_of(result.argv)["env"]
    assert settings_env["ANTHROPIC_AUTH_TOKEN"] == TOKEN
    assert settings_env["ANTHROPIC_API_KEY"] == settings_env["CLAUDE_CODE_OAUTH_TOKEN"] == ""
    assert "ANTHROPIC_API_KEY" not in result.env and "CLAUDE_CODE_OAUTH_TOKEN" not in result.env
    assert env["ANTHROPIC_API_KEY"] == "sk-ant-mine"  # lynkr's own environment is left alone


def test_without_token_as_key_the_users_credentials_are_untouched(files):
    env = {"PATH": "/bin", "ANTHROPIC_API_KEY": "sk-ant-mine"}
    result = launch(["-p", "x"], files, env)
    settings_env = settings_of(result.argv)["env"]
    assert "ANTHROPIC_AUTH_TOKEN" not in settings_env and "ANTHROPIC_API_KEY" not in settings_env
    assert result.env["ANTHROPIC_API_KEY"] == "sk-ant-mine"
