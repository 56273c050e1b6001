"""How ``lynkr run codex`` configures Codex: per-run ``-c`` overrides, always a model, user args kept,
and no session token on its command line (it travels in an environment variable Codex reads)."""

from __future__ import annotations

from pathlib import Path

from lynkr_cli.agents import agent_for
from lynkr_cli.agents.base import ProxyEndpoint
from lynkr_cli.agents.codex import DEFAULT_MODEL, TOKEN_VAR

TOKEN = "tok-0123456789abcdefghijklmnopqrstuvwxyzAB"
BASE = f"http://127.0.0.1:5000/s/{TOKEN}"
ORIGIN = "http://127.0.0.1:5000"


class NoFiles:
    """Codex and generic commands are configured by argv and env only: writing a file is a bug."""

    def write(self, name: str, text: str) -> Path:
        raise AssertionError(f"unexpected private file {name}")


def launch(args, env, provider=None, model=None, token_as_key=False):  # type: ignore[no-untyped-def]
    endpoint = ProxyEndpoint(BASE, provider, model, token=TOKEN, token_as_key=token_as_key)
    return agent_for("codex").launch("/bin/codex", args, endpoint, env, NoFiles())


def test_openai_key_users_keep_their_key_and_their_arguments():
    result = launch(["exec", "-m", "gpt-5", "fix it"], {"OPENAI_API_KEY": "sk-x", "HOME": "/nonexistent"})
    assert result.argv[:5] == ["/bin/codex", "-c", "model_provider=lynkr", "-c",
                               f'model_providers.lynkr={{name="lynkr", base_url="{ORIGIN}/v1", wire_api="responses", '
                               f'env_http_headers={{"X-Lynkr-Token"="{TOKEN_VAR}"}}, env_key="OPENAI_API_KEY"}}']
    assert result.argv[5:] == ["exec", "-m", "gpt-5", "fix it"]  # the user's -m: no second one
    assert "127.0.0.1" in result.env["NO_PROXY"]
    assert result.env[TOKEN_VAR] == TOKEN and not any(TOKEN in arg for arg in result.argv)


def test_codex_login_is_used_when_no_key_is_set(tmp_path: Path):
    (tmp_path / "config.toml").write_text('model = "gpt-5.1-codex"\n')
    result = launch(["exec", "hi"], {"CODEX_HOME": str(tmp_path)})
    assert "requires_openai_auth=true" in result.argv[4] and "X-Lynkr-Token" in result.argv[4]
    assert result.argv[5:7] == ["-m", "gpt-5.1-codex"]  # the user's configured model, read not edited
    assert (tmp_path / "config.toml").read_text() == 'model = "gpt-5.1-codex"\n'


def test_when_lynkr_holds_every_route_the_token_is_codexs_key():
    result = launch(["exec", "hi"], {"OPENAI_API_KEY": "sk-x", "HOME": "/nonexistent"}, "anthropic", "claude-x",
                    token_as_key=True)
    assert f'env_key="{TOKEN_VAR}"' in result.argv[4] and "OPENAI_API_KEY" not in result.argv[4]
    assert result.env[TOKEN_VAR] == TOKEN and not any(TOKEN in arg for arg in result.argv)
    assert result.argv[5:7] == ["-m", "claude-x"]
    assert launch(["hi"], {"HOME": "/nonexistent"}).argv[5:7] == ["-m", DEFAULT_MODEL]


def test_own_login_is_a_key_or_a_stored_login(tmp_path: Path):
    codex = agent_for("codex")
    assert codex.has_own_login([], {"OPENAI_API_KEY": "sk-x", "HOME": str(tmp_path)})
    assert not codex.has_own_login([], {"HOME": str(tmp_path)})
    (tmp_path / ".codex").mkdir()
    (tmp_path / ".codex" / "auth.json").write_text("{}")
    assert codex.has_own_login([], {"HOME": str(tmp_path)})


def test_generic_commands_get_openai_and_anthropic_base_urls():
    env = agent_for("aider", generic=True).launch("/bin/aider", ["--yes"], ProxyEndpoint(BASE), {}, NoFiles()).env
    assert env["OPENAI_BASE_URL"] == env["OPENAI_API_BASE"] == f"{BASE}/v1"
    assert env["ANTHROPIC_BASE_URL"] == BASE
