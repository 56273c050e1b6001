"""``lynkr run --profile NAME``: the profile reaches the proxy of that run; a wrong name stops before the agent."""

from __future__ import annotations

import sys
from pathlib import Path

from tests.conftest import base_env, run_lynkr

CLIENT = """
import os, sys, urllib.request, urllib.error
request = urllib.request.Request(os.environ["ANTHROPIC_BASE_URL"] + "/v1/messages", data=b"x" * 200,
                                 headers={"content-type": "application/json"})
try:
    urllib.request.urlopen(request, timeout=30)
except urllib.error.HTTPError as exc:
    print(exc.code)
"""


def test_profile_applies_to_the_runs_proxy(tmp_path: Path) -> None:
    env = base_env(tmp_path / "lh")
    profiles = Path(env["LYNKR_CONFIG_HOME"]) / "profiles"
    profiles.mkdir(parents=True)
    (profiles / "tiny.toml").write_text("# requests of at most 100 bytes\nmax_body_bytes = 100\n")
    result = run_lynkr(["run", "--profile", "tiny", "--report", "none", "--", sys.executable, "-c", CLIENT], env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "413"


def test_unknown_profile_stops_before_the_agent(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    result = run_lynkr(["run", "--profile", "nope", "--", "touch", str(marker)], base_env(tmp_path / "lh"))
    assert result.returncode == 2 and "unknown profile 'nope'" in result.stderr
    assert not marker.exists()


def test_invalid_config_stops_the_run_with_exit_2_and_names_key_and_file(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    (project / "lynkr.toml").write_text('[tiers]\nsimple = "qwen"\n')
    result = run_lynkr(["run", "--", "sleep", "60"], base_env(tmp_path / "lh"), cwd=project, timeout=90)
    assert result.returncode == 2
    assert "tiers.simple" in result.stderr and str(project / "lynkr.toml") in result.stderr
