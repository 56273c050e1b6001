"""``lynkr init``: the wizard typed into through a real pseudo-terminal, and the scripted path."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from lynkr_cli.config import load_settings
from tests.conftest import base_env, lynkr_command, run_lynkr
from tests.fakes.server import FakeUpstream, Received, Reply
from tests.terminal import DOWN, ENTER, KILL_LINE, Terminal

def fake_ollama(request: Received) -> Reply:
    if request.path == "/api/tags":
        models = {"models": [{"name": "qwen2.5-coder:7b"}, {"name": "qwen2.5-coder:1.5b"}]}
        return Reply(body=json.dumps(models).encode(), headers={"content-type": "application/json"})
    return Reply(status=404, body=b"{}")


@pytest.fixture
def init_env(tmp_path: Path) -> dict[str, str]:
    env = base_env(tmp_path / "lh", HOME=str(tmp_path / "home"), TERM="xterm", PROMPT_TOOLKIT_NO_CPR="1")
    # Probe only what the test controls: nothing listens on these.
    env["LMSTUDIO_ENDPOINT"] = env["LLAMACPP_ENDPOINT"] = "http://127.0.0.1:9"
    return env


def test_wizard_through_a_pty_writes_the_answers(tmp_path: Path, init_env: dict[str, str]) -> None:
    with FakeUpstream(fake_ollama) as ollama:
        env = init_env | {"OLLAMA_HOST": ollama.url.removeprefix("http://"), "ANTHROPIC_API_KEY": "sk-ant-test-1234567890"}
        term = Terminal(lynkr_command("init"), env, tmp_path)
        term.expect(r"found ollama at .*qwen2\.5-coder:1\.5b")
        term.expect(r"found anthropic key in \$ANTHROPIC_API_KEY")
        term.expect(r"Start from a profile\?")
        term.expect(r"hybrid-local-cloud")
        term.type(ENTER)  # the suggestion: Ollama running and an Anthropic key present
        term.expect(r"Which agents do you use\?")
        term.type(DOWN, " ", ENTER)  # claude is pre-checked by the profile; add codex
        term.expect(r"Model for the simple tier")
        term.type(KILL_LINE, "ollama:qwen2.5-coder:1.5b", ENTER)
        term.expect(r"Model for the medium tier")
        term.type(ENTER)  # keep the profile's
        term.expect(r"Model for the complex tier")
        term.type(KILL_LINE, "not a model", ENTER)
        term.expect(r"write provider:model")
        term.type(KILL_LINE, "anthropic:claude-opus-4-1", ENTER)
        term.expect(r"Model for the reasoning tier")
        term.type(ENTER)
        term.expect(r"Budget per session")
        term.type(KILL_LINE, "2.5", ENTER)
        term.expect(r"Budget per day")
        term.type(ENTER)
        while True:  # optional features offered by this version of lynkr: take their defaults
            match = term.expect(r"Write .*config\.toml\?|Optional: [^?]*\? \(Use arrow keys\)")
            if match.group(0).startswith("Write"):
                break
            term.type(*((DOWN, ENTER) if "elide" in match.group(0) else (ENTER,)))  # opt in to lossy elision
        assert 'profile = "hybrid-local-cloud"' in term.screen
        term.type("y")
        term.expect(r"wrote .*config\.toml")
        term.expect(r"one-token test request")
        term.type("n")
        assert term.wait() == 0, term.screen[-2000:]
    written = tmp_path / "lh" / "config" / "config.toml"
    data = tomllib.loads(written.read_text())
    assert data["profile"] == "hybrid-local-cloud"
    assert data["agents"] == ["claude", "codex"]
    assert data["tiers"] == {"simple": "ollama:qwen2.5-coder:1.5b", "complex": "anthropic:claude-opus-4-1"}
    assert data["budget"] == {"session_usd": 2.5}
    assert data["providers"] == {"ollama": {"base_url": ollama.url}}  # detected where OLLAMA_HOST said, in use
    assert data.get("pipeline") == {"compress": {"lossy": True}}, term.screen[-3000:]  # defaults elsewhere not written
    assert oct(written.stat().st_mode & 0o777) == "0o600"
    settings = load_settings(env={"LYNKR_CONFIG_HOME": str(tmp_path / "lh" / "config")}, cwd=tmp_path)
    assert settings.tiers.medium == "ollama:qwen2.5-coder:7b"  # from the profile
    assert settings.tiers.reasoning == "anthropic:claude-opus-4-1"


def test_non_interactive_writes_project_file(tmp_path: Path, init_env: dict[str, str]) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    args = ["init", "--non-interactive", "--project", "--profile", "local-ollama",
            "--tier", "simple=ollama:qwen2.5-coder", "--budget-daily", "3", "--set", "serve.port=9090"]
    result = run_lynkr(args, init_env, cwd=project)
    assert result.returncode == 0, result.stderr
    data = tomllib.loads((project / "lynkr.toml").read_text())
    assert data == {"profile": "local-ollama", "tiers": {"simple": "ollama:qwen2.5-coder"},
                    "budget": {"daily_usd": 3.0}, "serve": {"port": 9090}}
    shown = json.loads(run_lynkr(["config", "show", "--json"], init_env, cwd=project).stdout)
    assert shown["tiers.simple"]["value"] == "ollama:qwen2.5-coder"
    assert shown["tiers.medium"] == {"value": "ollama:qwen2.5-coder:7b", "source": "profile local-ollama"}
    again = run_lynkr(args, init_env, cwd=project)
    assert again.returncode == 2 and "--force" in again.stderr
    assert run_lynkr([*args, "--force"], init_env, cwd=project).returncode == 0


def test_without_a_terminal_it_says_so_and_bad_answers_are_refused(tmp_path: Path, init_env: dict[str, str]) -> None:
    result = run_lynkr(["init"], init_env, cwd=tmp_path, timeout=30)
    assert result.returncode == 2 and "--non-interactive" in result.stderr
    bad = run_lynkr(["init", "-y", "--tier", "simple=qwen"], init_env, cwd=tmp_path)
    assert bad.returncode == 2 and "tiers.simple" in bad.stderr and "Traceback" not in bad.stderr
    assert not (tmp_path / "lh" / "config" / "config.toml").exists()


def test_init_test_sends_one_token_to_each_tier_model(tmp_path: Path, init_env: dict[str, str]) -> None:
    from tests.fakes.anthropic import Turn
    from tests.fakes.ollama import ollama_handler

    seen: list[dict] = []

    def respond(request: Received, body: dict) -> Turn:
        seen.append(body)
        return Turn(text="ok", input_tokens=5, output_tokens=1)

    with FakeUpstream(ollama_handler(respond)) as server:
        env = init_env | {"OLLAMA_HOST": server.url}
        env.pop("OPENROUTER_API_KEY", None)
        good = run_lynkr(["init", "-y", "--tier", "simple=ollama:qwen2.5-coder:7b", "--test"], env, cwd=tmp_path)
        assert good.returncode == 0, good.stdout + good.stderr
        assert "ok  ollama:qwen2.5-coder:7b: HTTP 200" in good.stdout
        assert [body["model"] for body in seen] == ["qwen2.5-coder:7b"]
        bad = run_lynkr(["init", "-y", "--force", "--tier", "simple=ollama:qwen2.5-coder:7b",
                         "--tier", "complex=openrouter:deepseek/deepseek-chat", "--test"], env, cwd=tmp_path)
    assert bad.returncode == 1
    assert "FAIL openrouter:deepseek/deepseek-chat" in bad.stdout and "OPENROUTER_API_KEY" in bad.stdout
    assert len(seen) == 2  # the file is written either way; the test reports, it does not undo


def test_ctrl_c_in_the_wizard_writes_nothing(tmp_path: Path, init_env: dict[str, str]) -> None:
    term = Terminal(lynkr_command("init"), init_env | {"OLLAMA_HOST": "127.0.0.1:9"}, tmp_path)
    term.expect(r"Start from a profile\?")
    term.type("\x03")
    assert term.wait() == 130
    assert "interrupted, nothing written" in term.screen
    assert not (tmp_path / "lh" / "config" / "config.toml").exists()
