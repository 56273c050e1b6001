"""Configuration layers as a user meets them: files, profiles, environment, flags, errors."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from lynkr_cli.config.layers import resolve
from lynkr_cli.config.profiles import SHIPPED_DIR, list_profiles
from lynkr_cli.errors import ConfigError
from lynkr_cli.config import load_settings
from tests.conftest import REPO_ROOT, base_env, run_lynkr

REQUIRED_PROFILES = {
    "anthropic-direct", "local-ollama", "hybrid-local-cloud", "openrouter-budget", "codex-openai", "enterprise-bedrock",
}


@pytest.fixture
def cfg(tmp_path: Path) -> dict[str, Path]:
    """A user config dir and a project tree with a nested working directory."""
    home = tmp_path / "config"
    home.mkdir()
    project = tmp_path / "project"
    work = project / "src" / "pkg"
    work.mkdir(parents=True)
    return {"home": home, "project": project, "work": work}


def env_for(cfg: dict[str, Path], **extra: str) -> dict[str, str]:
    return {"LYNKR_CONFIG_HOME": str(cfg["home"]), **extra}


def test_precedence_defaults_profile_user_project_env_flags(cfg: dict[str, Path]) -> None:
    (cfg["home"] / "config.toml").write_text(
        'profile = "local-ollama"\n[tiers]\nmedium = "anthropic:user-medium"\ncomplex = "anthropic:user-complex"\n'
        '[serve]\nport = 9001\n'
    )
    (cfg["project"] / "lynkr.toml").write_text('[tiers]\ncomplex = "anthropic:project-complex"\nreasoning = "x:project"\n')
    env = env_for(cfg, LYNKR_TIERS__REASONING="x:env", TIER_REASONING="x:lynkr-name", TIER_SIMPLE="x:legacy-simple")
    resolved = resolve(flags={"serve.port": 7000}, cwd=cfg["work"], env=env)
    s = resolved.settings
    # profile sets all four tiers and the ollama provider; every higher layer overrides one of them
    assert s.profile == "local-ollama"
    assert s.providers["ollama"].base_url == "http://127.0.0.1:11434"
    assert s.tiers.simple == "x:legacy-simple"  # Lynkr's env name beats the files
    assert s.tiers.medium == "anthropic:user-medium"
    assert s.tiers.complex == "anthropic:project-complex"
    assert s.tiers.reasoning == "x:env"  # LYNKR_* beats Lynkr's name
    assert s.serve.port == 7000  # the flag beats the file
    assert resolved.source_of("tiers.medium") == str(cfg["home"] / "config.toml")
    assert resolved.source_of("tiers.complex") == str(cfg["project"] / "lynkr.toml")
    assert resolved.source_of("tiers.reasoning") == "env LYNKR_TIERS__REASONING"
    assert resolved.source_of("tiers.simple") == "env TIER_SIMPLE"
    assert resolved.source_of("providers.ollama.base_url") == "profile local-ollama"
    assert resolved.source_of("serve.port") == "command line"
    assert resolved.source_of("budget.daily_usd") == "default"


def test_nearest_project_file_wins(cfg: dict[str, Path]) -> None:
    (cfg["project"] / "lynkr.toml").write_text('model_provider = "outer"\n')
    (cfg["project"] / "src" / "lynkr.toml").write_text('model_provider = "inner"\n')
    assert load_settings(cwd=cfg["work"], env=env_for(cfg)).model_provider == "inner"


def test_lynkr_env_names_are_accepted(cfg: dict[str, Path]) -> None:
    env = env_for(
        cfg, MODEL_PROVIDER="ollama", OLLAMA_HOST="10.0.0.5:11434", OLLAMA_MODEL="qwen2.5-coder:latest",
        OPENROUTER_API_KEY="sk-or-v1-secret-value-1234", TIER_COMPLEX="openrouter:anthropic/claude-3.5-sonnet",
        PORT="8089", HOST="my-laptop",
    )
    s = load_settings(cwd=cfg["work"], env=env)
    assert s.model_provider == "ollama"
    assert s.providers["ollama"].base_url == "http://10.0.0.5:11434"
    assert s.providers["ollama"].model == "qwen2.5-coder:latest"
    assert s.providers["openrouter"].api_key is not None
    assert s.providers["openrouter"].api_key.get_secret_value() == "sk-or-v1-secret-value-1234"
    assert s.tiers.complex == "openrouter:anthropic/claude-3.5-sonnet"
    assert s.serve.port == 8089
    assert s.serve.host == "127.0.0.1"  # shells set HOST to the machine name: never read it
    # OLLAMA_ENDPOINT is the more specific name and wins over OLLAMA_HOST
    env["OLLAMA_ENDPOINT"] = "http://gpu-box:11434"
    assert load_settings(cwd=cfg["work"], env=env).providers["ollama"].base_url == "http://gpu-box:11434"


def test_short_aliases_and_lists_from_env(cfg: dict[str, Path]) -> None:
    env = env_for(cfg, LYNKR_PORT="9100", LYNKR_TIER_SIMPLE="ollama:tiny", LYNKR_AGENTS="claude,codex",
                  LYNKR_HOME="/somewhere", LYNKR_KEY="not-a-setting")
    s = load_settings(cwd=cfg["work"], env=env)
    assert (s.serve.port, s.tiers.simple, s.agents) == (9100, "ollama:tiny", ["claude", "codex"])


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('[tiers]\nsimple = "no-provider"\n', "tiers.simple"),
        ('[serve]\nport = "eighty"\n', "serve.port"),
        ('[budget]\ndaily_usd = -3\n', "budget.daily_usd"),
        ('[tiers]\nsimpel = "ollama:x"\n', "tiers.simpel"),
        ('colour = "blue"\n', "colour"),
    ],
)
def test_invalid_value_names_key_and_file(cfg: dict[str, Path], text: str, key: str) -> None:
    path = cfg["project"] / "lynkr.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_settings(cwd=cfg["work"], env=env_for(cfg))
    message = str(caught.value)
    assert key in message and str(path) in message and "\n" not in message


def test_invalid_env_value_names_the_variable(cfg: dict[str, Path]) -> None:
    with pytest.raises(ConfigError, match=r"serve\.port in env LYNKR_SERVE__PORT"):
        load_settings(cwd=cfg["work"], env=env_for(cfg, LYNKR_SERVE__PORT="99999"))


def test_toml_syntax_error_and_unknown_profile(cfg: dict[str, Path]) -> None:
    (cfg["home"] / "config.toml").write_text("[tiers\n")
    with pytest.raises(ConfigError, match="invalid TOML in .*config.toml"):
        load_settings(cwd=cfg["work"], env=env_for(cfg))
    (cfg["home"] / "config.toml").unlink()
    with pytest.raises(ConfigError, match="unknown profile 'nope'.*local-ollama"):
        load_settings(profile="nope", cwd=cfg["work"], env=env_for(cfg))


def test_every_shipped_profile_loads_validates_and_documents_itself(cfg: dict[str, Path]) -> None:
    shipped = {p.name: p for p in list_profiles(env_for(cfg)) if p.shipped}
    assert REQUIRED_PROFILES <= set(shipped)
    for name, info in shipped.items():
        text = info.path.read_text()
        assert text.startswith("# ") and info.summary, f"{name} must say what it is on its first line"
        tomllib.loads(text)
        s = load_settings(profile=name, cwd=cfg["work"], env=env_for(cfg))
        assert s.profile == name and s.agents, f"{name} must name the agent it is for"
    # the repository's top-level profiles/ is the same directory the package ships
    assert (REPO_ROOT / "profiles").resolve() == SHIPPED_DIR.resolve()


def test_user_profile_hides_shipped_one(cfg: dict[str, Path]) -> None:
    (cfg["home"] / "profiles").mkdir()
    (cfg["home"] / "profiles" / "local-ollama.toml").write_text('# mine\n[tiers]\nsimple = "ollama:mine"\n')
    s = load_settings(profile="local-ollama", cwd=cfg["work"], env=env_for(cfg))
    assert s.tiers.simple == "ollama:mine" and s.tiers.medium is None


def test_config_show_masks_secrets_and_names_sources(tmp_path: Path, cfg: dict[str, Path]) -> None:
    (cfg["project"] / "lynkr.toml").write_text('[providers.openai]\napi_key = "sk-proj-topsecret-abcd1234"\n')
    env = base_env(tmp_path / "lh") | {"LYNKR_CONFIG_HOME": str(cfg["home"]), "TIER_SIMPLE": "ollama:q"}
    shown = run_lynkr(["config", "show", "--json", "--profile", "local-ollama"], env, cwd=cfg["work"])
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout)
    assert data["providers.openai.api_key"] == {"value": "****1234", "source": str(cfg["project"] / "lynkr.toml")}
    assert data["tiers.simple"] == {"value": "ollama:q", "source": "env TIER_SIMPLE"}
    assert data["tiers.medium"]["source"] == "profile local-ollama"
    assert data["max_body_bytes"]["source"] == "default"
    table = run_lynkr(["config", "show"], env | {"COLUMNS": "80"}, cwd=cfg["work"])
    assert "topsecret" not in table.stdout + table.stderr and "****1234" in table.stdout
    assert "env TIER_SIMPLE" in table.stdout


def test_bad_config_is_one_line_and_exit_2(tmp_path: Path, cfg: dict[str, Path]) -> None:
    path = cfg["project"] / "lynkr.toml"
    path.write_text('[tiers]\nsimple = "nonsense"\n')
    env = base_env(tmp_path / "lh") | {"LYNKR_CONFIG_HOME": str(cfg["home"])}
    result = run_lynkr(["config", "show"], env, cwd=cfg["work"])
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "Traceback" not in result.stderr
    assert "tiers.simple" in result.stderr and str(path) in result.stderr


def test_config_path_and_profiles_command(tmp_path: Path, cfg: dict[str, Path]) -> None:
    env = base_env(tmp_path / "lh") | {"LYNKR_CONFIG_HOME": str(cfg["home"])}
    assert run_lynkr(["config", "path"], env).stdout.strip() == str(cfg["home"] / "config.toml")
    (cfg["project"] / "lynkr.toml").write_text("")
    found = run_lynkr(["config", "path", "--project"], env, cwd=cfg["work"])
    assert found.stdout.strip() == str(cfg["project"] / "lynkr.toml")
    listed = json.loads(run_lynkr(["profiles", "--json"], env).stdout)
    assert REQUIRED_PROFILES <= {p["name"] for p in listed}
    assert all(p["summary"] for p in listed)


@pytest.mark.parametrize(
    ("prompt", "semantic", "mode"),
    [("true", None, "exact"), ("false", None, "off"), ("true", "true", "semantic"), ("false", "false", "off"),
     (None, None, "off")],
)
def test_lynkr_cache_variables(cfg: dict[str, Path], prompt: str | None, semantic: str | None, mode: str) -> None:
    extra = {k: v for k, v in (("PROMPT_CACHE_ENABLED", prompt), ("SEMANTIC_CACHE_ENABLED", semantic)) if v}
    assert load_settings(cwd=cfg["work"], env=env_for(cfg, **extra)).cache.mode == mode


def test_shipped_profiles_name_known_providers(cfg: dict[str, Path]) -> None:
    from lynkr_cli.providers.base import get_registry, parse_model_ref

    for info in list_profiles(env_for(cfg)):
        s = load_settings(profile=info.name, cwd=cfg["work"], env=env_for(cfg))
        for ref in s.tiers.configured().values():
            parse_model_ref(ref, get_registry())  # raises UnknownProvider naming the valid ids
        assert s.model_provider in get_registry(), info.name


def test_config_keys_documents_every_setting(tmp_path: Path) -> None:
    from lynkr_cli.cli.config import flatten
    from lynkr_cli.settings import Settings

    result = run_lynkr(["config", "keys", "--json"], base_env(tmp_path / "lh"))
    documented = {row["key"]: row for row in json.loads(result.stdout)}
    actual = {key for key, _ in flatten(Settings.model_validate({}).model_dump())}
    undocumented = {key for key in actual
                    if not any(key == doc or key.startswith(doc + ".") for doc in documented)}
    assert not undocumented
    assert documented["serve.port"]["default"] == "8081" and documented["tiers.simple"]["description"]
    assert "providers.<id>.api_key_env" in documented and "cache.mode" in documented
