"""``lynkr doctor`` on real installs: the pinned agents, a fake Ollama, a real ledger, real config files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.conftest import agent_binary, base_env, run_lynkr
from tests.fakes.server import FakeUpstream, Received, Reply


def ollama(request: Received) -> Reply:
    return Reply(body=b"Ollama is running", headers={"content-type": "text/plain"})


def checks_of(stdout: str) -> dict[tuple[str, str], dict]:
    return {(c["group"], c["name"]): c for c in json.loads(stdout)}


def test_doctor_reports_agents_providers_keys_and_fixes(tmp_path: Path) -> None:
    for agent in ("claude", "codex"):  # the pinned agents it reports on (skips, saying why, without them)
        agent_binary(agent)
    with FakeUpstream(ollama) as server:
        env = base_env(tmp_path / "lh", OLLAMA_HOST=server.url, OPENROUTER_BASE_URL="http://127.0.0.1:9/api/v1",
                       TIER_SIMPLE="ollama:qwen2.5-coder:7b", TIER_COMPLEX="openrouter:anthropic/claude-sonnet-4.5",
                       LYNKR_PORT="0", HTTPS_PROXY="http://proxy.invalid:3128",
                       FALLBACK_PROVIDER="databricks")
        env.pop("OPENROUTER_API_KEY", None)
        result = run_lynkr(["doctor", "--json"], env, timeout=120)
        table = run_lynkr(["doctor"], env | {"COLUMNS": "80"}, timeout=120)
    assert result.returncode == 1, result.stderr
    checks = checks_of(result.stdout)
    assert checks[("agents", "claude")]["status"] == "ok" and "2.1.197" in checks[("agents", "claude")]["detail"]
    assert checks[("agents", "codex")]["status"] == "ok" and "0.169.0" in checks[("agents", "codex")]["detail"]
    assert checks[("config", "valid")]["status"] == "ok"
    assert checks[("providers", "ollama")]["status"] == "ok"
    assert checks[("keys", "openrouter")]["status"] == "fail"
    assert "OPENROUTER_API_KEY" in checks[("keys", "openrouter")]["fix"]
    assert checks[("providers", "openrouter")]["status"] == "fail"
    assert checks[("ledger", "writable")]["status"] == "ok"
    assert checks[("ports", "loopback")]["status"] == "ok"
    assert "NO_PROXY" in checks[("environment", "proxy")]["detail"]
    assert "[routing] fallback" in checks[("environment", "FALLBACK_PROVIDER")]["fix"]
    assert table.returncode == 1
    assert "fixes:" in table.stdout and "export OPENROUTER_API_KEY" in table.stdout
    assert max(len(line) for line in table.stdout.splitlines()) <= 80


def test_doctor_names_a_bad_config_and_passes_when_all_is_well(tmp_path: Path) -> None:
    for agent in ("claude", "codex"):  # "all is well" includes the agents
        agent_binary(agent)
    project = tmp_path / "proj"
    project.mkdir()
    (project / "lynkr.toml").write_text('[tiers]\nsimple = "no-provider"\n')
    env = base_env(tmp_path / "lh", LYNKR_PORT="0")
    bad = run_lynkr(["doctor", "--json"], env, cwd=project, timeout=120)
    check = checks_of(bad.stdout)[("config", "valid")]
    assert bad.returncode == 1 and check["status"] == "fail"
    assert "tiers.simple" in check["detail"] and str(project / "lynkr.toml") in check["detail"]
    (project / "lynkr.toml").write_text("")
    good = run_lynkr(["doctor", "--json"], env, cwd=project, timeout=120)
    assert good.returncode == 0, good.stdout
    assert checks_of(good.stdout)[("providers", "tiers")]["status"] == "info"


def test_doctor_checks_cloud_credential_chains(tmp_path: Path) -> None:
    """Bedrock and Azure authenticate through their own chains (AWS profiles, Entra ID): doctor asks the
    provider, names the variables when nothing is found, and reaches the region's endpoint."""
    def bedrock(request: Received) -> Reply:
        return Reply(status=404, body=b'{"message":"UnknownOperationException"}', headers={"content-type": "application/json"})

    with FakeUpstream(bedrock) as server:
        env = base_env(tmp_path / "lh", TIER_SIMPLE="bedrock:us.anthropic.claude-3-5-haiku-20241022-v1:0",
                       TIER_COMPLEX="azure-openai:gpt-4o-prod", AZURE_OPENAI_ENDPOINT=server.url,
                       AWS_ENDPOINT_URL_BEDROCK_RUNTIME=server.url, AWS_REGION="us-east-1", HOME=str(tmp_path),
                       LYNKR_PORT="0")
        missing = checks_of(run_lynkr(["doctor", "--json"], env, timeout=120).stdout)
        found = checks_of(run_lynkr(["doctor", "--json"], env | {
            "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret", "AZURE_OPENAI_API_KEY": "k"},
            timeout=120).stdout)
    assert missing[("keys", "bedrock")]["status"] == "fail"
    assert "AWS_ACCESS_KEY_ID" in missing[("keys", "bedrock")]["detail"]
    if shutil.which("az", path=env["PATH"]) is None:  # an installed Azure CLI is a credential source
        assert missing[("keys", "azure-openai")]["status"] == "fail"
        assert "AZURE_OPENAI_API_KEY" in missing[("keys", "azure-openai")]["detail"]
    assert found[("keys", "bedrock")]["status"] == "ok" and found[("keys", "azure-openai")]["status"] == "ok"
    assert found[("providers", "bedrock")]["status"] == "ok"
