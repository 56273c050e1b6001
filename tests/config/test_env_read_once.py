"""The environment is read once, by lynkr's own layers: pydantic-settings must not read it again.

It did: ``LYNKR_AGENTS=claude,codex`` (a list as lynkr's layer accepts it) stopped every command with
"invalid config:  in defaults: error parsing value for field "agents"", and a caller's own ``env``
mapping (``lynkr doctor``, tests) picked up whatever ``LYNKR_*`` the process had.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lynkr_cli.proxy.context import DEFAULT_MAX_BODY_BYTES
from lynkr_cli.config import load_settings
from tests.conftest import base_env, run_lynkr


def test_a_comma_separated_agents_variable_is_a_list(tmp_path: Path) -> None:
    result = run_lynkr(["config", "show", "--changed", "--json"], base_env(tmp_path / "lh", LYNKR_AGENTS="claude,codex"))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["agents"] == {"value": ["claude", "codex"], "source": "env LYNKR_AGENTS"}


def test_settings_come_from_the_env_mapping_given_not_the_process(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LYNKR_MAX_BODY_BYTES", "5")
    monkeypatch.setenv("LYNKR_AGENTS", "claude,codex")
    env = {"LYNKR_CONFIG_HOME": str(tmp_path / "config")}
    assert load_settings(cwd=tmp_path, env=env).max_body_bytes == DEFAULT_MAX_BODY_BYTES
    assert load_settings(cwd=tmp_path, env=env | {"LYNKR_MAX_BODY_BYTES": "7"}).max_body_bytes == 7
