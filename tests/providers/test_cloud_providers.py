"""The cloud families as a user configures them: URLs, headers, signatures, bodies, clear errors.

The Bedrock call is sent for real to a fake Bedrock on loopback, which checks the SigV4 signature by
recomputing it from what it received, and answers in Bedrock's binary event stream."""

from __future__ import annotations

import json
import sys
from datetime import datetime, timezone

import httpx
import pytest

from lynkr_cli.canonical import ModelRequest
from lynkr_cli.errors import MissingCredential
from lynkr_cli.providers import get_registry, resolve_provider
from lynkr_cli.providers.bedrock import BedrockProvider
from lynkr_cli.providers.sigv4 import AwsCredentials, sign
from tests.fakes import bedrock as fake_bedrock
from tests.fakes.anthropic import Turn
from tests.fakes.server import FakeUpstream, Received

WHEN = datetime(2026, 11, 23, 10, 0, 0, tzinfo=timezone.utc)
AWS_ENV = {"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
           "AWS_SESSION_TOKEN": "session-token-1", "AWS_REGION": "eu-central-1", "HOME": "/nonexistent"}
MODEL = "eu.anthropic.claude-sonnet-4-5-20250929-v1:0"
REQUEST = {"model": "claude-sonnet-4-5", "max_tokens": 100, "stream": True,
           "system": "Be brief.", "messages": [{"role": "user", "content": "Hi"}]}


def bedrock(env: dict[str, str]) -> BedrockProvider:
    provider = resolve_provider("bedrock", env)
    assert isinstance(provider, BedrockProvider)
    provider._clock = lambda: WHEN
    return provider


def recompute_signature(received: Received, base: str, region: str) -> str:
    """What AWS would compute for the request the fake received, with the known credentials."""
    signed_names = received.headers["authorization"].split("SignedHeaders=")[1].split(",")[0].split(";")
    headers = [(name, received.headers[name]) for name in signed_names if not name.startswith("x-amz-")]
    credentials = AwsCredentials(AWS_ENV["AWS_ACCESS_KEY_ID"], AWS_ENV["AWS_SECRET_ACCESS_KEY"],
                                 received.headers.get("x-amz-security-token"))
    when = datetime.strptime(received.headers["x-amz-date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
    signed = sign(received.method, base + received.path, headers, received.body, credentials, region, "bedrock", when)
    return dict(signed.headers)["authorization"]


def test_every_cloud_provider_is_registered() -> None:
    assert {"bedrock", "azure-openai", "azure-anthropic", "databricks"} <= set(get_registry())


def test_bedrock_default_endpoint_and_golden_signed_call() -> None:
    provider = bedrock(AWS_ENV)
    call = provider.build_call(ModelRequest(REQUEST), MODEL, {})
    assert call.url == ("https://bedrock-runtime.eu-central-1.amazonaws.com/model/"
                        "eu.anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse-stream")
    assert json.loads(call.body) == {"messages": [{"role": "user", "content": [{"text": "Hi"}]}],
                                     "system": [{"text": "Be brief."}], "inferenceConfig": {"maxTokens": 100}}
    headers = dict(call.headers)
    assert headers["x-amz-date"] == "20261123T100000Z"
    assert headers["x-amz-security-token"] == "session-token-1"
    assert headers["accept"] == "application/vnd.amazon.eventstream"
    assert headers["authorization"].startswith(
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261123/eu-central-1/bedrock/aws4_request, "
        "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, Signature="
    )
    non_stream = provider.build_call(ModelRequest(dict(REQUEST, stream=False)), MODEL, {})
    assert non_stream.url.endswith("/converse") and dict(non_stream.headers)["accept"] == "application/json"


def test_bedrock_roundtrip_against_fake_checks_signature_and_decodes_stream() -> None:
    turn = Turn(text="Hello there", tool_calls=[("Read", {"path": "/x"})], cache_read_tokens=50)
    with FakeUpstream(fake_bedrock.bedrock_handler(lambda r, b: fake_bedrock.reply_for(turn, r))) as upstream:
        provider = bedrock(dict(AWS_ENV, AWS_ENDPOINT_URL_BEDROCK_RUNTIME=upstream.url))
        call = provider.build_call(ModelRequest(REQUEST), MODEL, {})
        with httpx.Client() as client:
            with client.stream(call.method, call.url, headers=call.headers, content=call.body) as response:
                decoder = provider.stream_decoder(call.wire_format)
                events = [e for chunk in response.iter_raw() for e in decoder.feed(chunk)] + decoder.finish()
        received = upstream.received[0]
    assert received.path == "/model/eu.anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse-stream"
    assert received.headers["authorization"] == recompute_signature(received, upstream.url, "eu-central-1")
    assert response.headers["content-type"] == "application/vnd.amazon.eventstream"
    types = [e["type"] for e in events]
    assert types[0] == "message_start" and types[-2:] == ["message_delta", "message_stop"]
    text = "".join(e["delta"].get("text", "") for e in events if e["type"] == "content_block_delta")
    assert text == "Hello there"
    assert events[-2]["usage"]["cache_read_input_tokens"] == 50 and events[-2]["delta"]["stop_reason"] == "tool_use"


def test_bedrock_profile_credentials_and_region(tmp_path) -> None:
    (tmp_path / ".aws").mkdir()
    (tmp_path / ".aws" / "credentials").write_text("[team]\naws_access_key_id = AKIATEAM\naws_secret_access_key = t\n")
    (tmp_path / ".aws" / "config").write_text("[profile team]\nregion = ap-south-1\n")
    provider = bedrock({"HOME": str(tmp_path), "AWS_PROFILE": "team"})
    call = provider.build_call(ModelRequest(REQUEST), MODEL, {})
    assert call.url.startswith("https://bedrock-runtime.ap-south-1.amazonaws.com/")
    assert "Credential=AKIATEAM/20261123/ap-south-1/bedrock/" in dict(call.headers)["authorization"]


def test_bedrock_api_key_is_a_bearer_token_without_signing() -> None:
    provider = bedrock({"AWS_BEARER_TOKEN_BEDROCK": "ABSKbedrockkey", "AWS_DEFAULT_REGION": "us-east-1", "HOME": "/x"})
    headers = dict(provider.build_call(ModelRequest(REQUEST), MODEL, {}).headers)
    assert headers["authorization"] == "Bearer ABSKbedrockkey" and "x-amz-date" not in headers


def test_bedrock_missing_credentials_and_region_name_the_variables(tmp_path) -> None:
    with pytest.raises(MissingCredential, match="AWS_ACCESS_KEY_ID"):
        bedrock({"HOME": str(tmp_path), "AWS_REGION": "us-east-1"}).check_credentials("anthropic")
    with pytest.raises(MissingCredential, match="AWS_REGION"):
        bedrock({"HOME": str(tmp_path), "AWS_ACCESS_KEY_ID": "A", "AWS_SECRET_ACCESS_KEY": "s"}).check_credentials("anthropic")


def test_azure_openai_deployment_urls_api_version_and_key() -> None:
    env = {"AZURE_OPENAI_ENDPOINT": "https://contoso.openai.azure.com/", "AZURE_OPENAI_API_KEY": "azkey"}
    provider = resolve_provider("azure-openai", env)
    assert provider.endpoint("openai-chat", "gpt-4o-prod", True) == (
        "https://contoso.openai.azure.com/openai/deployments/gpt-4o-prod/chat/completions?api-version=2025-04-01-preview")
    assert provider.endpoint("openai-responses", "gpt-4o-prod", True) == (
        "https://contoso.openai.azure.com/openai/responses?api-version=2025-04-01-preview")
    assert provider.auth_headers("anthropic", {}, "openai-chat") == [("api-key", "azkey")]
    assert provider.wire_format_for("anthropic") == "openai-chat"
    assert provider.wire_format_for("openai-responses") == "openai-responses"
    versioned = resolve_provider("azure-openai", dict(env, AZURE_OPENAI_API_VERSION="2024-10-21"))
    assert versioned.endpoint("openai-chat", "d", False).endswith("/openai/deployments/d/chat/completions?api-version=2024-10-21")
    v1 = resolve_provider("azure-openai", dict(env, AZURE_OPENAI_ENDPOINT="https://contoso.openai.azure.com/openai/v1/"))
    assert v1.endpoint("openai-chat", "d", True) == "https://contoso.openai.azure.com/openai/v1/chat/completions"


def test_azure_openai_entra_token_and_missing_key() -> None:
    entra = resolve_provider("azure-openai", {"AZURE_OPENAI_ENDPOINT": "https://c.openai.azure.com",
                                              "AZURE_OPENAI_AD_TOKEN": "eyJ0eXAiOiJKV1Q"})
    entra.check_credentials("anthropic", {})
    assert entra.auth_headers("anthropic", {}, "openai-chat") == [("authorization", "Bearer eyJ0eXAiOiJKV1Q")]
    with pytest.raises(MissingCredential, match="AZURE_OPENAI_ENDPOINT"):
        resolve_provider("azure-openai", {"AZURE_OPENAI_API_KEY": "k"})
    with pytest.raises(MissingCredential, match="AZURE_OPENAI_API_KEY"):
        resolve_provider("azure-openai", {"AZURE_OPENAI_ENDPOINT": "https://c.openai.azure.com"}).check_credentials("anthropic", {})


def test_azure_anthropic_keeps_betas_and_never_forwards_the_clients_key() -> None:
    provider = resolve_provider("azure-anthropic", {"ANTHROPIC_FOUNDRY_RESOURCE": "contoso-ai",
                                                    "ANTHROPIC_FOUNDRY_API_KEY": "foundrykey"})
    client = {"x-api-key": "sk-ant-client", "authorization": "Bearer client", "anthropic-version": "2023-06-01",
              "anthropic-beta": "interleaved-thinking-2025-05-14", "x-claude-code-session-id": "s1"}
    request = ModelRequest(REQUEST, raw=json.dumps(REQUEST).encode())
    call = provider.build_call(request, "claude-sonnet-4-5", client)
    assert call.url == "https://contoso-ai.services.ai.azure.com/anthropic/v1/messages"
    headers = dict(call.headers)
    assert headers["x-api-key"] == "foundrykey" and "authorization" not in headers
    assert headers["anthropic-beta"] == "interleaved-thinking-2025-05-14"
    assert call.body == request.raw  # same format, same model: the client's bytes
    url_env = resolve_provider("azure-anthropic", {"AZURE_ANTHROPIC_ENDPOINT": "https://x.services.ai.azure.com/anthropic/v1/messages",
                                                   "AZURE_ANTHROPIC_API_KEY": "k"})
    assert url_env.endpoint("anthropic", "m", True) == "https://x.services.ai.azure.com/anthropic/v1/messages"
    with pytest.raises(MissingCredential, match="AZURE_ANTHROPIC_ENDPOINT"):
        resolve_provider("azure-anthropic", {"AZURE_ANTHROPIC_API_KEY": "k"}).check_credentials("anthropic", {})
    with pytest.raises(MissingCredential, match="AZURE_ANTHROPIC_API_KEY"):
        resolve_provider("azure-anthropic", {"ANTHROPIC_FOUNDRY_RESOURCE": "r"}).check_credentials("anthropic", {})


def test_databricks_serving_endpoint_url_and_token() -> None:
    provider = resolve_provider("databricks", {"DATABRICKS_HOST": "dbc-12ab.cloud.databricks.com",
                                               "DATABRICKS_TOKEN": "dapi0123456789abcdef0123456789abcdef"})
    assert provider.endpoint("openai-chat", "databricks-claude-sonnet-4-5", True) == (
        "https://dbc-12ab.cloud.databricks.com/serving-endpoints/databricks-claude-sonnet-4-5/invocations")
    assert provider.auth_headers("anthropic", {}, "openai-chat") == [
        ("authorization", "Bearer dapi0123456789abcdef0123456789abcdef")]
    lynkr_names = resolve_provider("databricks", {"DATABRICKS_API_BASE": "https://w.azuredatabricks.net/serving-endpoints",
                                                  "DATABRICKS_API_KEY": "k"})
    assert lynkr_names.endpoint("openai-chat", "e", False) == "https://w.azuredatabricks.net/serving-endpoints/e/invocations"
    with pytest.raises(MissingCredential, match="DATABRICKS_TOKEN"):
        resolve_provider("databricks", {"DATABRICKS_HOST": "https://h.cloud.databricks.com"}).check_credentials("anthropic", {})
    with pytest.raises(MissingCredential, match="DATABRICKS_HOST"):
        resolve_provider("databricks", {"DATABRICKS_TOKEN": "k"})


@pytest.mark.parametrize("env, provider, model", [
    ({"MODEL_PROVIDER": "bedrock", "AWS_BEDROCK_MODEL_ID": "anthropic.claude-3-5-sonnet-20241022-v2:0"},
     "bedrock", "anthropic.claude-3-5-sonnet-20241022-v2:0"),
    ({"MODEL_PROVIDER": "azure-openai", "AZURE_OPENAI_DEPLOYMENT": "gpt-4o-prod"}, "azure-openai", "gpt-4o-prod"),
    ({"MODEL_PROVIDER": "databricks", "DATABRICKS_MODEL": "databricks-claude-sonnet-4-5"},
     "databricks", "databricks-claude-sonnet-4-5"),
])
def test_lynkr_variables_route_every_request_to_the_cloud_model(tmp_path, env, provider, model) -> None:
    """A Lynkr user's .env (MODEL_PROVIDER + the provider's model variable) works unchanged."""
    from lynkr_cli.assemble import static_router
    from lynkr_cli.config import load_settings

    settings = load_settings(cwd=tmp_path, env={"LYNKR_CONFIG_HOME": str(tmp_path), **env})
    router = static_router(settings, None)
    decision = router.route(ModelRequest({"model": "claude-sonnet-4-5", "max_tokens": 5, "messages": []}), "s")
    assert (decision.provider, decision.model) == (provider, model)


def test_azure_openai_entra_token_from_the_azure_cli(tmp_path) -> None:
    """No key (key auth disabled by the organisation): after `az login`, the CLI's token is used,
    fetched once and reused until shortly before it expires."""
    import time

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls"
    az = bin_dir / "az"
    az.write_text(
        f"#!{sys.executable}\nimport json, pathlib, sys, time\n"
        "assert sys.argv[1:5] == ['account', 'get-access-token', '--resource', 'https://cognitiveservices.azure.com']\n"
        f"p = pathlib.Path({str(calls)!r}); n = int(p.read_text()) + 1 if p.exists() else 1; p.write_text(str(n))\n"
        "print(json.dumps({'accessToken': f'entra-{n}', 'expires_on': int(time.time()) + 3600, 'tokenType': 'Bearer'}))\n"
    )
    az.chmod(0o755)
    provider = resolve_provider("azure-openai", {"AZURE_OPENAI_ENDPOINT": "https://c.openai.azure.com", "PATH": str(bin_dir)})
    provider.check_credentials("anthropic", {})
    assert provider.auth_headers("anthropic", {}, "openai-chat") == [("authorization", "Bearer entra-1")]
    assert provider.auth_headers("anthropic", {}, "openai-chat") == [("authorization", "Bearer entra-1")]
    cli = provider._entra_from_cli()
    assert cli.get(now=time.time() + 3500) == "entra-2"  # refreshed near expiry
    # A failing CLI (not logged in) is a clear error.
    az.write_text(f"#!{sys.executable}\nimport sys\nsys.stderr.write('ERROR: Please run az login to setup account.')\nsys.exit(1)\n")
    fresh = resolve_provider("azure-openai", {"AZURE_OPENAI_ENDPOINT": "https://c.openai.azure.com", "PATH": str(bin_dir)})
    with pytest.raises(MissingCredential, match="az login"):
        fresh.auth_headers("anthropic", {}, "openai-chat")


def test_doctor_one_token_check_reaches_a_signed_bedrock(tmp_path) -> None:
    """`lynkr doctor` / `lynkr init --test` send one real request through the same adapter: a pass
    means the signature verified; wrong keys give the cloud's own reason."""
    from lynkr_cli.config.provider_check import one_token_request
    from lynkr_cli.config import load_settings

    def respond(request: Received, body: dict):
        if "Credential=AKIDEXAMPLE/" not in request.headers.get("authorization", ""):
            return fake_bedrock.error_reply(403, "UnrecognizedClientException", "The security token included in the request is invalid.")
        assert body["inferenceConfig"] == {"maxTokens": 1} and request.path.endswith("/converse")
        return fake_bedrock.reply_for(Turn(text="ok"), request)

    with FakeUpstream(fake_bedrock.bedrock_handler(respond)) as upstream:
        env = dict(AWS_ENV, AWS_ENDPOINT_URL_BEDROCK_RUNTIME=upstream.url, LYNKR_CONFIG_HOME=str(tmp_path))
        settings = load_settings(cwd=tmp_path, env=env)
        good = one_token_request("bedrock", MODEL, settings, env)
        bad = one_token_request("bedrock", MODEL, settings, dict(env, AWS_ACCESS_KEY_ID="AKIAWRONGWRONGWRONG0"))
    assert good.ok, good.detail
    assert not bad.ok and "security token included in the request is invalid" in bad.detail


def test_bedrock_on_demand_refusal_says_to_use_an_inference_profile() -> None:
    provider = bedrock(AWS_ENV)
    body = json.dumps({"message": "Invocation of model ID anthropic.claude-sonnet-4-5-20250929-v1:0 with on-demand "
                                  "throughput isn't supported. Retry your request with the ID or ARN of an inference "
                                  "profile that contains this model."}).encode()
    message = provider.error_message("bedrock", 400, body, "application/json")
    assert message.startswith("upstream bedrock answered HTTP 400: Invocation of model ID")
    assert "bedrock:us.anthropic." in message
