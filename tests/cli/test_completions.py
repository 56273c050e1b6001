"""Shell completions: current with the app, and completing in real bash and fish."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT, base_env, run_lynkr

COMPLETIONS = REPO_ROOT / "completions"


def test_committed_scripts_match_the_app() -> None:
    result = subprocess.run([sys.executable, "-m", "lynkr_cli.cli.completions", "--check"], cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_lynkr_completions_prints_the_committed_script(tmp_path) -> None:
    for shell, name in (("bash", "lynkr.bash"), ("zsh", "lynkr.zsh"), ("fish", "lynkr.fish")):
        result = run_lynkr(["completions", shell], base_env(tmp_path))
        assert result.returncode == 0 and result.stdout == (COMPLETIONS / name).read_text()


def _bash_complete(*words: str) -> list[str]:
    script = (f"source {COMPLETIONS / 'lynkr.bash'}; COMP_WORDS=({' '.join(repr(w) for w in words)}); "
              "COMP_CWORD=$((${#COMP_WORDS[@]}-1)); _lynkr; printf '%s\\n' \"${COMPREPLY[@]}\"")
    result = subprocess.run(["bash", "--norc", "--noprofile", "-c", script], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    return [line for line in result.stdout.splitlines() if line]


def test_bash_completes_agents_commands_and_option_values() -> None:
    assert _bash_complete("lynkr", "run", "c") == ["claude", "codex"]
    assert {"run", "serve", "init", "report", "doctor", "config", "profiles"} <= set(_bash_complete("lynkr", ""))
    assert _bash_complete("lynkr", "config", "") == ["keys", "path", "show", "validate"]
    assert _bash_complete("lynkr", "run", "--report", "") == ["none", "short", "full"]
    assert "local-ollama" in _bash_complete("lynkr", "init", "--profile", "")
    assert _bash_complete("lynkr", "run", "--report", "full", "c") == ["claude", "codex"]
    assert _bash_complete("lynkr", "run", "claude", "-") == []  # the agent's own arguments: not ours


def _fish() -> str:
    path = shutil.which("fish")
    if path is None:
        message = "fish not installed: run scripts/install-test-deps"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def test_fish_completes_run_c_to_the_agents() -> None:
    fish = _fish()
    script = f"source {COMPLETIONS / 'lynkr.fish'}; complete -C 'lynkr run c'; echo SEP; complete -C 'lynkr run --report '"
    result = subprocess.run([fish, "--no-config", "-c", script], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    agents, reports = result.stdout.split("SEP\n")
    assert [line.split("\t")[0] for line in agents.splitlines()] == ["claude", "codex"]
    assert sorted(reports.split()) == ["full", "none", "short"]


def _shell(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        message = f"{name} not installed: run scripts/install-test-deps"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_tab_in_an_interactive_shell_offers_the_agents(shell: str, tmp_path) -> None:
    """The user's view: type `lynkr run c`, press TAB twice, see both agents listed."""
    from tests.terminal import Terminal

    binary = _shell(shell)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "lynkr").write_text("#!/bin/sh\nexit 0\n")
    (bindir / "lynkr").chmod(0o755)
    env = {"PATH": f"{bindir}:/usr/bin:/bin", "TERM": "xterm", "HOME": str(tmp_path), "ZDOTDIR": str(tmp_path)}
    if shell == "bash":
        rc = tmp_path / ".bashrc"
        rc.write_text(f"PS1='READY> '\nsource {COMPLETIONS / 'lynkr.bash'}\n")
        argv = [binary, "--noprofile", "--rcfile", str(rc), "-i"]
    else:
        (tmp_path / ".zshrc").write_text(
            f"autoload -U compinit && compinit -u\nsource {COMPLETIONS / 'lynkr.zsh'}\nPS1='READY> '\n")
        argv = [binary, "-i"]
    term = Terminal(argv, env, tmp_path)
    try:
        term.expect("READY> ")
        term.type("lynkr run c\t\t")
        term.expect(r"claude\s+codex")
    finally:
        term.type("\x03", "exit\r")
        term.wait()
