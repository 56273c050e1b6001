"""The config check before launch: complete (every setting the proxy will read), and cheap on a
config that passed before (no pydantic on the way to the agent's start)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lynkr_cli.config.check import CHECKED_FILE, ConfiguredRoutes, RouteRef, check_config
from lynkr_cli.config.layers import SETTING_NAMES
from lynkr_cli.errors import ConfigError
from lynkr_cli.config import load_settings
from lynkr_cli.settings import Settings

REPO = Path(__file__).resolve().parents[2]


def env_for(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"HOME": str(tmp_path), "LYNKR_HOME": str(tmp_path / "lh"), "LYNKR_CONFIG_HOME": str(tmp_path / "cfg"),
            **extra}


def test_the_names_read_before_launch_are_the_settings():
    assert SETTING_NAMES == set(Settings.model_fields)


def test_no_config_needs_no_validation_and_writes_nothing(tmp_path):
    checked = check_config(tmp_path / "lh", env_for(tmp_path), cwd=tmp_path)
    assert checked.routes == ConfiguredRoutes()
    assert not (tmp_path / "lh" / CHECKED_FILE).exists()
    assert checked.settings() == load_settings(env=env_for(tmp_path), cwd=tmp_path)


def test_a_valid_config_is_remembered_and_a_broken_one_is_not(tmp_path):
    env = env_for(tmp_path, TIER_SIMPLE="ollama:qwen")
    first = check_config(tmp_path / "lh", env, cwd=tmp_path)
    assert first.routes.routes == (RouteRef("ollama", "tiers.simple"),)
    stored = json.loads((tmp_path / "lh" / CHECKED_FILE).read_text())
    assert len(stored) == 1 and first.routes.to_json() in stored.values()
    with pytest.raises(ConfigError, match="tiers.simple in env TIER_SIMPLE"):
        check_config(tmp_path / "lh", env_for(tmp_path, TIER_SIMPLE="ollama"), cwd=tmp_path)
    assert len(json.loads((tmp_path / "lh" / CHECKED_FILE).read_text())) == 1
    again = check_config(tmp_path / "lh", env, cwd=tmp_path)
    assert again.routes == first.routes
    assert again.settings().tiers.simple == "ollama:qwen"  # built from the same data when asked


def test_a_config_checked_before_starts_without_pydantic(tmp_path):
    """What ``lynkr run`` does before the agent starts, on a config it has seen: no pydantic import."""
    env = {"PATH": os.environ["PATH"], **env_for(tmp_path, TIER_SIMPLE="ollama:qwen", TIER_COMPLEX="openrouter:q",
                                   OPENROUTER_API_KEY="sk-or-x"), "PYTHONPATH": str(REPO)}
    code = ("import sys\nfrom pathlib import Path\nfrom lynkr_cli.agents import agent_for\n"
            "from lynkr_cli.preflight import preflight\n"
            f"p = preflight(agent_for('claude'), ['-p', 'hi'], None, Path({str(tmp_path / 'lh')!r}))\n"
            "print(p.login.token_as_key, 'pydantic' in sys.modules)\n")
    runs = [subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path, capture_output=True, text=True)
            for _ in range(2)]
    assert [r.stdout.split() for r in runs] == [["True", "True"], ["True", "False"]], [r.stderr for r in runs]


def test_routes_follow_the_routers():
    settings = Settings.model_validate({
        "model_provider": "ollama",
        "tiers": {"simple": "ollama:q", "complex": "openrouter:x"},
        "routing": {"fallback": ["deepseek:chat"], "slots": {"long_context": "moonshot:kimi", "web_search": "simple"},
                    "models": {"claude-opus*": "reasoning", "gpt-5*": "lmstudio:m"}},
    })
    routes = ConfiguredRoutes.of(settings)
    assert set(routes.routes) == {
        RouteRef("ollama", "tiers.simple"), RouteRef("openrouter", "tiers.complex"),
        RouteRef("deepseek", "routing.fallback"), RouteRef("moonshot", "routing.slots.long_context"),
        RouteRef("lmstudio", "routing.models.gpt-5*"),
    }
    assert routes.default is False  # no slot passes through once web_search is routed too
    assert ConfiguredRoutes.of(Settings.model_validate({"tiers": {"simple": "ollama:q"}})).default is True
    assert ConfiguredRoutes.of(Settings.model_validate({"routing": {"fallback": ["ollama:q"]}})).default is True
