"""How lynkr folds its proxy settings into Claude Code's command line."""

from __future__ import annotations

import json

import pytest

from lynkr_cli.agents.base import ProxyEndpoint
from lynkr_cli.agents.claude import ClaudeAgent, merge_settings_arg
from lynkr_cli.errors import UsageError

PROXY_ENV = {"ANTHROPIC_BASE_URL": "http://127.0.0.1:5555/s/tok", "NO_PROXY": "127.0.0.1,localhost",
             "no_proxy": "127.0.0.1,localhost"}


def settings_of(args: list[str]) -> dict:
    values = [args[i + 1] for i, a in enumerate(args) if a == "--settings"]
    assert len(values) == 1, args
    return json.loads(values[0])


def test_without_user_settings_lynkr_settings_go_first_and_args_are_unchanged():
    args = ["-p", "it's \"quoted\"", "--output-format", "json", "--", "--not-an-option"]
    out = merge_settings_arg(args, PROXY_ENV)
    assert out[2:] == args
    assert settings_of(out)["env"]["ANTHROPIC_BASE_URL"] == PROXY_ENV["ANTHROPIC_BASE_URL"]


def test_user_inline_settings_are_merged_in_place():
    user = {"model": "opus", "env": {"FOO": "1", "ANTHROPIC_BASE_URL": "http://gateway"}}
    args = ["--resume", "abc", "--settings", json.dumps(user), "-p", "hi"]
    out = merge_settings_arg(args, PROXY_ENV)
    assert out[:2] == ["--resume", "abc"] and out[4:] == ["-p", "hi"]
    merged = settings_of(out)
    assert merged["model"] == "opus"
    assert merged["env"]["FOO"] == "1"
    assert merged["env"]["ANTHROPIC_BASE_URL"] == PROXY_ENV["ANTHROPIC_BASE_URL"]


def test_last_of_several_settings_wins_like_claude_code(tmp_path):
    first = tmp_path / "a.json"
    first.write_text(json.dumps({"env": {"A": "1"}}))
    args = ["--settings", str(first), "--settings={\"env\": {\"B\": \"2\"}}", "-p", "x"]
    merged = settings_of(merge_settings_arg(args, PROXY_ENV))
    assert merged["env"].get("B") == "2" and "A" not in merged["env"]


def test_user_no_proxy_entries_are_kept():
    args = ["--settings", json.dumps({"env": {"NO_PROXY": "corp.example"}})]
    merged = settings_of(merge_settings_arg(args, PROXY_ENV))
    assert merged["env"]["NO_PROXY"].split(",") == ["corp.example", "127.0.0.1", "localhost"]


def test_settings_after_double_dash_is_a_prompt_not_an_option():
    args = ["-p", "--", "--settings", "literal"]
    out = merge_settings_arg(args, PROXY_ENV)
    assert out[2:] == args


@pytest.mark.parametrize("value", ["{not json", "[1, 2]", "/nonexistent/settings.json"])
def test_unusable_user_settings_is_a_clear_error(value):
    with pytest.raises(UsageError) as info:
        merge_settings_arg(["--settings", value], PROXY_ENV)
    assert "--settings" in str(info.value)


def test_launch_points_process_env_too_and_adds_loopback_to_no_proxy():
    launch = ClaudeAgent().launch("/bin/claude", ["-p", "x"], ProxyEndpoint("http://127.0.0.1:1/s/t"),
                                  {"NO_PROXY": "internal", "PATH": "/bin"})
    assert launch.argv[0] == "/bin/claude" and launch.argv[-2:] == ["-p", "x"]
    assert launch.env["ANTHROPIC_BASE_URL"] == "http://127.0.0.1:1/s/t"
    assert launch.env["NO_PROXY"] == launch.env["no_proxy"] == "internal,127.0.0.1,localhost"
