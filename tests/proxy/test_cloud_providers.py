"""The cloud providers behind the real proxy, with the official SDKs as clients.

Each fake upstream speaks its cloud's real wire protocol and checks what only that cloud checks:
fake Bedrock recomputes the SigV4 signature and answers in the binary event stream; fake Azure
OpenAI serves deployment URLs and requires ``api-version`` and ``api-key``; fake Databricks serves
``/serving-endpoints/NAME/invocations`` with a bearer token; fake Foundry requires ``x-api-key``.
Every inbound API (Anthropic, Chat Completions, Responses) is tried against each, streamed and not.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

import anthropic
import openai
import pytest

from lynkr_cli.providers.base import ProviderSet
from lynkr_cli.providers.sigv4 import AwsCredentials, sign
from lynkr_cli.routing.static import StaticRouter
from tests.conftest import FAKE_ANTHROPIC_KEY, FAKE_OPENAI_KEY, running_proxy
from tests.fakes import bedrock as fake_bedrock
from tests.fakes.anthropic import Turn, messages_handler, reply_for
from tests.fakes.openai import chat_json, chat_stream, openai_error, responses_json, responses_stream
from tests.fakes.server import FakeUpstream, Received, Reply
from tests.proxy.test_translation_matrix import TOOLS_SCHEMA as SCHEMA
from tests.proxy.test_translation_matrix import _last_row, _wait_for, call_chat, call_responses

TURN = Turn(text="Checking both cities", tool_calls=[("get_weather", {"city": "Paris"}),
                                                      ("get_weather", {"city": "Oslo", "unit": "c"})],
            input_tokens=120, output_tokens=30, cache_read_tokens=40, cache_write_tokens=7)
AWS = {"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
       "AWS_REGION": "us-west-2", "HOME": "/nonexistent"}
AZURE_KEY = "azure-fake-key-0123456789"
FOUNDRY_KEY = "foundry-fake-key-0123456789"
DATABRICKS_TOKEN = "dapi0123456789abcdef0123456789abcdef"
BEDROCK_MODEL = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
AZURE_MODEL = "gpt-4o-2024-11-20"  # Azure answers with the deployed model's name, not the deployment's
MODELS = {"bedrock": BEDROCK_MODEL, "azure-openai": "gpt-4o-prod", "azure-anthropic": "claude-sonnet-4-5",
          "databricks": "databricks-claude-sonnet-4-5"}


def sigv4_valid(received: Received, base_url: str) -> bool:
    """Recompute the signature from what arrived, as AWS does, with the known secret."""
    auth = received.headers.get("authorization", "")
    if not auth.startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"):
        return False
    names = auth.split("SignedHeaders=")[1].split(",")[0].split(";")
    headers = [(n, received.headers[n]) for n in names if n not in ("x-amz-date", "x-amz-security-token")]
    when = datetime.strptime(received.headers["x-amz-date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
    credentials = AwsCredentials(AWS["AWS_ACCESS_KEY_ID"], AWS["AWS_SECRET_ACCESS_KEY"])
    expected = sign("POST", base_url + received.path, headers, received.body, credentials, "us-west-2", "bedrock", when)
    return dict(expected.headers)["authorization"] == auth


def bedrock_handler(base: list[str]):
    def respond(request: Received, body: dict) -> Reply:
        if not sigv4_valid(request, base[0]):
            return fake_bedrock.error_reply(403, "InvalidSignatureException", "The request signature we calculated does not match")
        return fake_bedrock.reply_for(TURN, request)
    return fake_bedrock.bedrock_handler(respond)


def azure_handler(request: Received) -> Reply:
    path, _, query = request.path.partition("?")
    if request.headers.get("api-key") != AZURE_KEY:
        return openai_error(401, "Access denied due to invalid subscription key", "invalid_api_key")
    if "api-version=2024-10-21" not in query:
        return openai_error(404, "Resource not found (api-version missing)")
    body = request.json or {}
    if path == "/openai/deployments/gpt-4o-prod/chat/completions":
        chunks = chat_stream(TURN, AZURE_MODEL) if body.get("stream") else None
        payload = chat_json(TURN, AZURE_MODEL)
    elif path == "/openai/responses" and body.get("model") == "gpt-4o-prod":
        chunks = responses_stream(TURN, AZURE_MODEL) if body.get("stream") else None
        payload = responses_json(TURN, AZURE_MODEL)
    else:
        return openai_error(404, f"DeploymentNotFound {path}")
    if chunks:
        return Reply(headers={"content-type": "text/event-stream"}, chunks=chunks)
    return Reply(headers={"content-type": "application/json"}, body=json.dumps(payload).encode())


def databricks_handler(request: Received) -> Reply:
    if request.headers.get("authorization") != f"Bearer {DATABRICKS_TOKEN}":
        return Reply(status=401, headers={"content-type": "application/json"},
                     body=b'{"error_code":"UNAUTHENTICATED","message":"Invalid access token."}')
    if request.path != "/serving-endpoints/databricks-claude-sonnet-4-5/invocations":
        return Reply(status=404, headers={"content-type": "application/json"},
                     body=b'{"error_code":"RESOURCE_DOES_NOT_EXIST","message":"endpoint not found"}')
    body = request.json or {}
    if body.get("stream"):
        return Reply(headers={"content-type": "text/event-stream"}, chunks=chat_stream(TURN, "databricks-claude-sonnet-4-5"))
    return Reply(headers={"content-type": "application/json"},
                 body=json.dumps(chat_json(TURN, "databricks-claude-sonnet-4-5")).encode())


def foundry_handler(request: Received, body: dict) -> Reply:
    if request.headers.get("x-api-key") != FOUNDRY_KEY or not request.path.startswith("/anthropic/v1/messages"):
        return Reply(status=401, headers={"content-type": "application/json"},
                     body=b'{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}')
    return reply_for(TURN, request)


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    base: list[str] = []
    bedrock_fake = FakeUpstream(bedrock_handler(base))
    azure_fake = FakeUpstream(azure_handler)
    databricks_fake = FakeUpstream(databricks_handler)
    foundry_fake = FakeUpstream(messages_handler(foundry_handler))
    with bedrock_fake, azure_fake, databricks_fake, foundry_fake:
        base.append(bedrock_fake.url)
        env = dict(AWS, AWS_ENDPOINT_URL_BEDROCK_RUNTIME=bedrock_fake.url,
                   AZURE_OPENAI_ENDPOINT=azure_fake.url, AZURE_OPENAI_API_KEY=AZURE_KEY,
                   AZURE_OPENAI_API_VERSION="2024-10-21",
                   AZURE_ANTHROPIC_ENDPOINT=foundry_fake.url + "/anthropic", AZURE_ANTHROPIC_API_KEY=FOUNDRY_KEY,
                   DATABRICKS_HOST=databricks_fake.url, DATABRICKS_TOKEN=DATABRICKS_TOKEN)
        ledger_path = tmp_path_factory.mktemp("cloud") / "ledger.db"
        fakes = {"bedrock": bedrock_fake, "azure-openai": azure_fake, "databricks": databricks_fake,
                 "azure-anthropic": foundry_fake}
        with running_proxy(foundry_fake.url, ledger_path, providers=ProviderSet(env)) as (url, ctx, ledger):
            yield url, ctx, fakes


def wait_for(rows: list) -> None:
    _wait_for(rows, timeout=20.0)  # generous: the machine running the suite is often loaded


def ask_anthropic(base_url: str, stream: bool):
    client = anthropic.Anthropic(base_url=base_url, api_key=FAKE_ANTHROPIC_KEY, max_retries=0)
    kwargs = dict(model="claude-via-lynkr", max_tokens=100,
                  system=[{"type": "text", "text": "be brief", "cache_control": {"type": "ephemeral"}}],
                  messages=[{"role": "user", "content": "weather in Paris and Oslo?"}],
                  tools=[{"name": "get_weather", "description": "Weather for a city", "input_schema": SCHEMA}])
    if stream:
        with client.messages.stream(**kwargs) as s:
            kinds = [e.type for e in s]
            message = s.get_final_message()
        assert kinds[0] == "message_start" and "content_block_delta" in kinds
    else:
        message = client.messages.create(**kwargs)
    assert message.stop_reason == "tool_use"
    text = "".join(b.text for b in message.content if b.type == "text")
    return text, [(b.id, b.name, b.input) for b in message.content if b.type == "tool_use"], message.usage.output_tokens


def ask_chat(base_url: str, stream: bool):
    text, calls, output_tokens, finish = call_chat(base_url, "gpt-4o", stream)
    assert finish == "tool_calls"
    return text, calls, output_tokens


def ask_responses(base_url: str, stream: bool):
    return call_responses(base_url, "gpt-4o", stream)


ASK = {"anthropic": ask_anthropic, "openai-chat": ask_chat, "openai-responses": ask_responses}
WIRE = {"bedrock": "bedrock", "databricks": "openai-chat", "azure-anthropic": "anthropic"}


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("provider", list(MODELS))
@pytest.mark.parametrize("inbound", list(ASK))
def test_every_inbound_api_with_every_cloud(cloud, inbound: str, provider: str, stream: bool) -> None:
    base_url, ctx, fakes = cloud
    ctx.router = StaticRouter(provider, MODELS[provider])
    rows = _last_row(ctx)
    try:
        text, calls, output_tokens = ASK[inbound](base_url, stream)
        wait_for(rows)
    finally:
        ctx.listeners.clear()
    assert text == "Checking both cities"
    assert [(name, args) for _, name, args in calls] == [("get_weather", {"city": "Paris"}),
                                                         ("get_weather", {"city": "Oslo", "unit": "c"})]
    assert len({i for i, _, _ in calls}) == 2
    assert output_tokens == 30
    (row,) = rows
    assert row.status == 200 and row.error is None
    # The model actually used: what the upstream says it ran, else the one lynkr asked for.
    assert row.provider == provider
    assert row.model_used == (AZURE_MODEL if provider == "azure-openai" else MODELS[provider])
    assert row.output_tokens == 30 and row.cache_read_tokens == 40
    wire = WIRE.get(provider) or ("openai-chat" if inbound == "anthropic" else inbound)
    assert row.details["provider"]["wire"] == wire
    sent = fakes[provider].received[-1]
    if provider == "bedrock":
        assert sent.path.endswith("/converse-stream" if stream else "/converse")
        spec = sent.json["toolConfig"]["tools"][0]["toolSpec"]
        assert spec["inputSchema"]["json"] == SCHEMA  # the whole schema reached Bedrock
        assert row.cache_write_tokens == 7
    elif provider == "databricks":
        assert "model" not in sent.json and sent.json["tools"][0]["function"]["parameters"] == SCHEMA


def test_bedrock_request_golden_through_the_proxy(cloud) -> None:
    """What Claude Code's kind of request looks like on Bedrock's wire, byte-relevant parts included."""
    base_url, ctx, fakes = cloud
    ctx.router = StaticRouter("bedrock", BEDROCK_MODEL)
    ask_anthropic(base_url, stream=True)
    sent = fakes["bedrock"].received[-1]
    assert sent.path == "/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse-stream"
    assert sent.headers["content-type"] == "application/json"
    assert sent.headers["accept"] == "application/vnd.amazon.eventstream"
    assert sigv4_valid(sent, fakes["bedrock"].url)
    assert sent.json == {
        "messages": [{"role": "user", "content": [{"text": "weather in Paris and Oslo?"}]}],
        "system": [{"text": "be brief"}, {"cachePoint": {"type": "default"}}],
        "inferenceConfig": {"maxTokens": 100},
        "toolConfig": {"tools": [{"toolSpec": {"name": "get_weather", "description": "Weather for a city",
                                               "inputSchema": {"json": SCHEMA}}}]},
    }
    # The client's Anthropic key never reaches AWS.
    assert FAKE_ANTHROPIC_KEY not in json.dumps(sent.headers)


def test_bedrock_error_reaches_the_client_in_its_format(cloud) -> None:
    base_url, ctx, fakes = cloud
    ctx.router = StaticRouter("bedrock", "meta.llama-nonexistent-v1:0")
    original = fakes["bedrock"].handler
    fakes["bedrock"].handler = lambda r: fake_bedrock.error_reply(
        400, "ValidationException", "The provided model identifier is invalid.")
    rows = _last_row(ctx)
    try:
        client = anthropic.Anthropic(base_url=base_url, api_key=FAKE_ANTHROPIC_KEY, max_retries=0)
        with pytest.raises(anthropic.BadRequestError) as info:
            client.messages.create(model="x", max_tokens=5, messages=[{"role": "user", "content": "hi"}])
        wait_for(rows)
    finally:
        fakes["bedrock"].handler = original
        ctx.listeners.clear()
    assert "The provided model identifier is invalid." in str(info.value)
    assert rows[0].status == 400 and rows[0].provider == "bedrock"


def test_bedrock_midstream_throttling_is_an_error_event(cloud) -> None:
    base_url, ctx, fakes = cloud
    ctx.router = StaticRouter("bedrock", BEDROCK_MODEL)
    original = fakes["bedrock"].handler
    frames = fake_bedrock.stream_frames(Turn(text="partial answer here"))[:3]
    frames.append(fake_bedrock.exception_frame("throttlingException", "Too many tokens, please wait."))
    fakes["bedrock"].handler = lambda r: Reply(headers={"content-type": fake_bedrock.EVENTSTREAM}, chunks=frames)
    rows = _last_row(ctx)
    try:
        client = anthropic.Anthropic(base_url=base_url, api_key=FAKE_ANTHROPIC_KEY, max_retries=0)
        with pytest.raises(anthropic.APIStatusError) as info:
            with client.messages.stream(model="x", max_tokens=5, messages=[{"role": "user", "content": "hi"}]) as s:
                for _ in s:
                    pass
        wait_for(rows)
    finally:
        fakes["bedrock"].handler = original
        ctx.listeners.clear()
    assert "Too many tokens" in str(info.value)
    assert rows and rows[0].error and "Too many tokens" in rows[0].error


def test_missing_cloud_credentials_are_clear_errors_and_recorded(tmp_path) -> None:
    """No AWS keys, no Azure key: each request gets a 400 in the client's own format naming the
    variable, and the ledger still has a row for it."""
    with FakeUpstream(lambda r: Reply(status=500)) as dead:
        providers = ProviderSet({"HOME": str(tmp_path), "AWS_REGION": "us-east-1",
                                 "AZURE_OPENAI_ENDPOINT": dead.url})
        with running_proxy(dead.url, tmp_path / "l.db", providers=providers) as (base_url, ctx, _):
            rows = _last_row(ctx)
            ctx.router = StaticRouter("bedrock", BEDROCK_MODEL)
            client = anthropic.Anthropic(base_url=base_url, api_key=FAKE_ANTHROPIC_KEY, max_retries=0)
            with pytest.raises(anthropic.BadRequestError) as bedrock_error:
                client.messages.create(model="x", max_tokens=5, messages=[{"role": "user", "content": "hi"}])
            ctx.router = StaticRouter("azure-openai", "gpt-4o-prod")
            chat = openai.OpenAI(base_url=base_url + "/v1", api_key=FAKE_OPENAI_KEY, max_retries=0)
            with pytest.raises(openai.BadRequestError) as azure_error:
                chat.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
            wait_for(rows)
            assert len(dead.received) == 0
    assert "AWS_ACCESS_KEY_ID" in str(bedrock_error.value) and "AWS_PROFILE" in str(bedrock_error.value)
    assert "AZURE_OPENAI_API_KEY" in str(azure_error.value)
    assert [r.provider for r in rows] == ["bedrock", "azure-openai"] and all(r.status == 400 for r in rows)


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_bedrock_answers_name_the_model_that_ran(cloud, stream: bool) -> None:
    """Converse does not echo the model; the client still sees the Bedrock model lynkr called."""
    base_url, ctx, _ = cloud
    ctx.router = StaticRouter("bedrock", BEDROCK_MODEL)
    client = anthropic.Anthropic(base_url=base_url, api_key=FAKE_ANTHROPIC_KEY, max_retries=0)
    kwargs = dict(model="claude-via-lynkr", max_tokens=10, messages=[{"role": "user", "content": "hi"}])
    if stream:
        with client.messages.stream(**kwargs) as s:
            message = s.get_final_message()
    else:
        message = client.messages.create(**kwargs)
    assert message.model == BEDROCK_MODEL
    responses = openai.OpenAI(base_url=base_url + "/v1", api_key=FAKE_OPENAI_KEY, max_retries=0)
    if stream:
        with responses.responses.stream(model="gpt-4o", input="hi") as s:
            response = s.get_final_response()
    else:
        response = responses.responses.create(model="gpt-4o", input="hi")
    assert response.model == BEDROCK_MODEL
