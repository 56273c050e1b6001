"""``lynkr run``'s own options: the fast parser, its agreement with ``--help``, and its errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

from lynkr_cli.cli.run_options import RUN_OPTIONS, NeedsFullParser, parse_run_args
from lynkr_cli.errors import UsageError
from tests.conftest import base_env, run_lynkr


def test_options_stop_at_the_agent_name():
    parsed = parse_run_args(["--report", "full", "claude", "--report", "none", "-p", "hi"])
    assert parsed.values["report"] == "full"
    assert parsed.command == ["claude", "--report", "none", "-p", "hi"]
    assert parsed.generic is False


def test_double_dash_marks_a_generic_command_and_inline_values_work():
    parsed = parse_run_args(["--report=none", "--agent-bin", "/x/claude", "--", "claude", "--", "-x"])
    assert parsed.values["report"] == "none"
    assert parsed.values["agent_bin"] == "/x/claude"
    assert parsed.command == ["claude", "--", "-x"]
    assert parsed.generic is True


def test_defaults_when_no_option_is_given():
    parsed = parse_run_args(["codex"])
    assert parsed.values["report"] == "short"
    assert parsed.values["agent_bin"] is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--bogus", "claude"], "unknown option '--bogus'"),
        (["--report"], "--report needs a value"),
        (["--report", "loud", "claude"], "--report must be one of none, short, full"),
    ],
)
def test_bad_options_are_usage_errors(args, message):
    with pytest.raises(UsageError, match=message):
        parse_run_args(args)


def test_help_goes_to_the_full_parser():
    with pytest.raises(NeedsFullParser):
        parse_run_args(["--help"])


def test_help_lists_every_option_of_the_table(lynkr_home):
    result = run_lynkr(["run", "--help"], base_env(lynkr_home))
    assert result.returncode == 0, result.stderr
    for option in RUN_OPTIONS:
        for flag in option.flags:
            assert flag in result.stdout


@pytest.mark.parametrize("args", [["run", "--bogus", "--", "true"], ["report", "--bogus"], ["bogus"]])
def test_usage_errors_are_one_message_and_exit_2(lynkr_home, args):
    result = run_lynkr(args, base_env(lynkr_home))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "bogus" in result.stderr


def test_run_does_not_import_the_full_command_line_parser(lynkr_home):
    """`lynkr run` wraps every agent start: Typer (~0.1 s) stays out of its path."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "lynkr_cli", "run", "--report", "none", "--", "true"],
        env=base_env(lynkr_home), capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    imported = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines() if "|" in line}
    assert "lynkr_cli.session" in imported
    assert not {name for name in imported if name.split(".")[0] in ("typer", "click", "rich")}


def test_the_proxy_imports_httpx_without_its_command_line_tool():
    """httpx's CLI (click, rich, pygments: ~65 ms) is kept out of the proxy's import on lynkr run."""
    code = (
        "import sys; from lynkr_cli.session import skip_unused_imports; skip_unused_imports(); import httpx; "
        "print(sorted(n for n in ('click', 'rich', 'pygments') if n in sys.modules), callable(httpx.main))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["[]", "True"]
