"""A broken config never starts the agent: one line naming the key and where it was set, exit 2, and
no session in the ledger. Every kind of error (not TOML, a bad value, an unknown key, a wrong type,
an unknown provider, a missing key) in every place a setting comes from (``lynkr.toml``, the user's
``config.toml``, a ``LYNKR_*`` variable, one of Lynkr's own variables).

The "agent" is a script that leaves a marker file when it runs: the marker must not exist. It is run
both as Claude Code (``--agent-bin``) and as a generic command (``--``)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.conftest import base_env, run_lynkr

FILE_CASES = [  # (lynkr.toml content, what the line must name)
    ("[tiers\nsimple = 'ollama:x'\n", "invalid TOML in {file}: Expected ']' at the end of a table declaration"),
    ("[tiers]\nsimple = 'nocolon'\n", "invalid config: tiers.simple in {file}: expected provider:model"),
    ("[tiers]\nsimpel = 'ollama:x'\n", "invalid config: tiers.simpel in {file}: unknown setting"),
    ("max_body_bytes = 'lots'\n", "invalid config: max_body_bytes in {file}: Input should be a valid integer"),
    ("[routing]\nretries = 'two'\n", "invalid config: routing.retries in {file}: Input should be a valid integer"),
    ("[tiers]\nsimple = 'nosuch:model'\n", "invalid config: tiers.simple in {file}: unknown provider 'nosuch'"),
    ("[tiers]\nsimple = 'openrouter:qwen'\n",
     "provider 'openrouter' needs an API key: set OPENROUTER_API_KEY (or api_key under [providers.openrouter] in "
     "the config file) (tiers.simple in {file})"),
]

ENV_CASES = [  # (variables, what the line must name)
    ({"LYNKR_TIERS": '{"simple": '}, "invalid config: tiers in env LYNKR_TIERS: not valid JSON"),
    ({"LYNKR_TIERS__SIMPLE": "nocolon"}, "invalid config: tiers.simple in env LYNKR_TIERS__SIMPLE: expected provider:model"),
    ({"LYNKR_TIERS__SIMPEL": "ollama:x"}, "invalid config: tiers.simpel in env LYNKR_TIERS__SIMPEL: unknown setting"),
    ({"LYNKR_MAX_BODY_BYTES": "lots"}, "invalid config: max_body_bytes in env LYNKR_MAX_BODY_BYTES: Input should be a valid integer"),
    ({"LYNKR_CACHE": "sometimes"}, "invalid config: cache.mode in env LYNKR_CACHE:"),
    ({"TIER_SIMPLE": "nocolon"}, "invalid config: tiers.simple in env TIER_SIMPLE: expected provider:model"),
    ({"PORT": "abc"}, "invalid config: serve.port in env PORT: Input should be a valid integer"),
    ({"MODEL_PROVIDER": "nosuch"}, "invalid config: model_provider in env MODEL_PROVIDER: unknown provider 'nosuch'"),
    ({"PROFILE_OF_NOBODY": "x", "LYNKR_PROFILE": "no-such-profile"}, "unknown profile 'no-such-profile'"),
]


@pytest.fixture
def marker_agent(tmp_path: Path) -> tuple[Path, Path]:
    marker = tmp_path / "the-agent-ran"
    script = tmp_path / "agent"
    script.write_text(f"#!/bin/sh\ntouch '{marker}'\n")
    script.chmod(0o755)
    return script, marker


def assert_refused(result, marker: Path, lynkr_home: Path, expected: str) -> None:  # type: ignore[no-untyped-def]
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("lynkr: ") and expected in lines[0], result.stderr
    assert not marker.exists(), "the agent was started"
    ledger = lynkr_home / "ledger.sqlite3"
    if ledger.exists():
        with sqlite3.connect(ledger) as db:
            assert db.execute("select count(*) from sessions").fetchone()[0] == 0


@pytest.mark.parametrize("how", ["claude", "generic"])
@pytest.mark.parametrize(("content", "expected"), FILE_CASES, ids=[e.split(":")[0][:40] for _, e in FILE_CASES])
def test_a_broken_project_file_stops_the_run_before_the_agent(how, content, expected, lynkr_home, tmp_path,
                                                               marker_agent):
    script, marker = marker_agent
    project = tmp_path / "project"
    project.mkdir()
    (project / "lynkr.toml").write_text(content)
    command = ["--agent-bin", str(script), "claude", "-p", "hi"] if how == "claude" else ["--", str(script)]
    result = run_lynkr(["run", *command], base_env(lynkr_home), cwd=project)
    assert_refused(result, marker, lynkr_home, expected.format(file=project / "lynkr.toml"))


@pytest.mark.parametrize(("variables", "expected"), ENV_CASES, ids=[next(iter(v)) for v, _ in ENV_CASES])
def test_a_broken_variable_stops_the_run_before_the_agent(variables, expected, lynkr_home, tmp_path, marker_agent):
    script, marker = marker_agent
    result = run_lynkr(["run", "--", str(script)], base_env(lynkr_home, **variables), cwd=tmp_path)
    assert_refused(result, marker, lynkr_home, expected)


def test_a_broken_user_config_names_its_file(lynkr_home, tmp_path, marker_agent):
    script, marker = marker_agent
    user_file = lynkr_home / "config" / "config.toml"
    user_file.parent.mkdir(parents=True)
    user_file.write_text("[cache]\nmode = 1\n")
    result = run_lynkr(["run", "--agent-bin", str(script), "claude"], base_env(lynkr_home), cwd=tmp_path)
    assert_refused(result, marker, lynkr_home, f"invalid config: cache.mode in {user_file}:")


def test_a_config_fixed_after_a_failure_runs(lynkr_home, tmp_path, marker_agent):
    """The check remembers only configs that passed: a fixed file runs, a broken one is refused again."""
    script, marker = marker_agent
    (tmp_path / "lynkr.toml").write_text("[tiers]\nsimple = 'ollama:qwen'\n")
    ok = run_lynkr(["run", "--report", "none", "--", str(script)], base_env(lynkr_home), cwd=tmp_path)
    assert ok.returncode == 0 and marker.exists(), ok.stderr
    marker.unlink()
    again = run_lynkr(["run", "--report", "none", "--", str(script)], base_env(lynkr_home), cwd=tmp_path)
    assert again.returncode == 0 and marker.exists(), again.stderr
    marker.unlink()
    (tmp_path / "lynkr.toml").write_text("[tiers]\nsimple = 'ollama'\n")
    broken = run_lynkr(["run", "--", str(script)], base_env(lynkr_home), cwd=tmp_path)
    assert broken.returncode == 2 and not marker.exists()
    assert "tiers.simple" in broken.stderr
