"""The provider interface as users meet it: ``provider:model`` refs, their usual variables, clear errors."""

from __future__ import annotations

import json

import pytest

from lynkr_cli.canonical import ModelRequest
from lynkr_cli.errors import MissingCredential, UnknownProvider, UsageError
from lynkr_cli.providers import get_registry, parse_model_ref, resolve_provider


@pytest.mark.parametrize(
    "text, provider, model",
    [
        ("anthropic:claude-sonnet-4-5", "anthropic", "claude-sonnet-4-5"),
        ("ollama:qwen2.5-coder:7b", "ollama", "qwen2.5-coder:7b"),  # Ollama tags keep their colon
        ("openrouter:anthropic/claude-3.5-sonnet", "openrouter", "anthropic/claude-3.5-sonnet"),
        (" openai:gpt-5 ", "openai", "gpt-5"),
    ],
)
def test_model_refs_parse(text, provider, model):
    ref = parse_model_ref(text)
    assert (ref.provider, ref.model) == (provider, model)
    assert str(ref) == f"{provider}:{model}"


@pytest.mark.parametrize("text", ["claude-sonnet-4-5", "anthropic:", ":gpt-5", "open ai:gpt", ""])
def test_malformed_refs_say_what_is_expected(text):
    with pytest.raises(UsageError, match="expected PROVIDER:MODEL"):
        parse_model_ref(text)


def test_unknown_provider_lists_the_known_ones():
    with pytest.raises(UnknownProvider) as info:
        parse_model_ref("nosuch:model")
    assert "'nosuch'" in str(info.value) and "ollama" in str(info.value) and "openrouter" in str(info.value)
    assert info.value.exit_code == 2 and info.value.http_status == 400


def test_every_issue_provider_family_is_registered():
    assert {"anthropic", "openai", "ollama", "openrouter", "deepseek", "moonshot", "lmstudio", "llamacpp", "vllm",
            "openai-compatible"} <= set(get_registry())


def test_base_urls_come_from_the_usual_variables():
    env = {"OLLAMA_HOST": "10.0.0.5:11434", "OPENROUTER_BASE_URL": "https://gw.example/or/v1/",
           "OPENROUTER_API_KEY": "sk-or-v1-x", "OPENAI_API_BASE": "http://oai.local/v1"}
    assert resolve_provider("ollama", env).base_url == "http://10.0.0.5:11434"
    assert resolve_provider("ollama", {"OLLAMA_ENDPOINT": "http://a:1", "OLLAMA_HOST": "b:2"}).base_url == "http://a:1"
    assert resolve_provider("openrouter", env).base_url == "https://gw.example/or/v1"
    assert resolve_provider("openai", env).base_url == "http://oai.local/v1"
    assert resolve_provider("deepseek", {"DEEPSEEK_API_KEY": "k"}).base_url == "https://api.deepseek.com/v1"
    # The config file's table wins over the environment.
    over = {"ollama": {"base_url": "http://cfg:9"}}
    assert resolve_provider("ollama", env, over).base_url == "http://cfg:9"


def test_missing_key_names_the_variable():
    provider = resolve_provider("openrouter", {})
    request = ModelRequest(body={"model": "x", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 5})
    with pytest.raises(MissingCredential, match="OPENROUTER_API_KEY"):
        provider.build_call(request, "x", {})
    # Local servers need no key.
    resolve_provider("ollama", {}).check_credentials("anthropic", {})


def test_same_family_clients_bring_their_own_key():
    anthropic = resolve_provider("anthropic", {})
    request = ModelRequest(body={"model": "m", "messages": []}, inbound="anthropic", raw=b'{"model":"m","messages":[]}')
    call = anthropic.build_call(request, "m", {"x-api-key": "client-key", "anthropic-beta": "b1"}, query="beta=true")
    assert call.body == request.raw and call.url == "https://api.anthropic.com/v1/messages?beta=true"
    assert ("x-api-key", "client-key") in call.headers and ("anthropic-beta", "b1") in call.headers
    # A Chat Completions client going to Anthropic needs lynkr's own ANTHROPIC_API_KEY.
    chat = ModelRequest(body={"model": "m", "messages": []}, inbound="openai-chat")
    with pytest.raises(MissingCredential, match="ANTHROPIC_API_KEY"):
        anthropic.build_call(chat, "m", {"authorization": "Bearer sk-openai"})
    keyed = resolve_provider("anthropic", {"ANTHROPIC_API_KEY": "sk-ant-lynkr"}).build_call(chat, "claude-x", {})
    assert ("x-api-key", "sk-ant-lynkr") in keyed.headers
    assert json.loads(keyed.body)["max_tokens"] > 0


def test_custom_openai_compatible_provider_from_config():
    over = {"together": {"base_url": "https://api.together.xyz/v1", "api_key_env": "TOGETHER_API_KEY"}}
    provider = resolve_provider("together", {"TOGETHER_API_KEY": "tk"}, over)
    assert provider.wire_format_for("anthropic") == "openai-chat"
    with pytest.raises(MissingCredential, match="TOGETHER_API_KEY"):
        resolve_provider("together", {}, over).check_credentials("anthropic", {})
