"""The pipeline in the request path: what the upstream receives, and what the ledger records."""

from __future__ import annotations

import json

import anthropic
import httpx
import pytest
import toon_format

from bench.scenarios.data import grep_result
from lynkr_cli.ledger import LedgerReader
from lynkr_cli.pipeline.build import build_pipeline
from lynkr_cli.pipeline.config import CompressConfig, PipelineConfig
from tests.conftest import FAKE_ANTHROPIC_KEY, running_proxy
from tests.fakes.anthropic import Turn, messages_handler, reply_for
from tests.fakes.server import FakeUpstream


def respond(request, body):
    return reply_for(Turn(text="done", input_tokens=300, output_tokens=5, cache_read_tokens=1000), request)


@pytest.fixture
def upstream():
    with FakeUpstream(messages_handler(respond)) as server:
        yield server


GREP = json.dumps(grep_result(), indent=2)
MESSAGES = [
    {"role": "user", "content": "Find all TODO comments."},
    {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "Bash",
                                       "input": {"command": "grep -rn TODO src/ --json"}}]},
    {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": GREP}]},
]


def rows(ledger_path):
    reader = LedgerReader(ledger_path)
    try:
        return reader.requests("test-session")
    finally:
        reader.close()


def test_upstream_receives_the_compressed_tool_result_and_the_ledger_says_what_happened(upstream, tmp_path):
    with running_proxy(upstream.url, tmp_path / "l.db", pipeline=build_pipeline()) as (base_url, ctx, ledger):
        client = anthropic.Anthropic(base_url=base_url, api_key=FAKE_ANTHROPIC_KEY, max_retries=0)
        with client.messages.stream(model="claude-x", max_tokens=50, messages=MESSAGES) as stream:
            assert stream.get_final_message().content[0].text == "done"
    (received,) = upstream.requests_to("/v1/messages")
    sent = received.json["messages"][2]["content"][0]["content"]
    assert toon_format.decode(sent) == grep_result()
    assert received.json["messages"][:2] == MESSAGES[:2]
    (row,) = rows(tmp_path / "l.db")
    pipeline = row["details"]["pipeline"]
    (stage,) = [s for s in pipeline["stages"] if s["changed"]]
    assert stage["stage"] == "compress"
    assert [s["stage"] for s in pipeline["stages"]] == ["terminal", "compress", "paths", "dedup", "linenums"]
    assert stage["items"][0]["representation"] == "toon"
    assert pipeline["tokens_saved"] == stage["tokens_before"] - stage["tokens_after"] > 0
    assert pipeline["bytes_after"] == len(received.body) < pipeline["bytes_before"]
    assert row["input_tokens"] == 300  # usage still recorded from the upstream


def test_without_anything_to_optimize_the_original_bytes_are_forwarded(upstream, tmp_path):
    body = b'{"model": "claude-x", "max_tokens": 5,\n "messages": [{"role": "user", "content": "hi"}]}'
    with running_proxy(upstream.url, tmp_path / "l.db", pipeline=build_pipeline()) as (base_url, ctx, ledger):
        response = httpx.post(f"{base_url}/v1/messages", content=body,
                              headers={"x-api-key": FAKE_ANTHROPIC_KEY, "content-type": "application/json"})
    assert response.status_code == 200
    (received,) = upstream.requests_to("/v1/messages")
    assert received.body == body
    (row,) = rows(tmp_path / "l.db")
    assert row["details"]["pipeline"]["changed"] is False


def test_no_optimize_forwards_tool_results_untouched(upstream, tmp_path):
    pipeline = build_pipeline(PipelineConfig(enabled=False))
    body = json.dumps({"model": "claude-x", "max_tokens": 5, "messages": MESSAGES}).encode()
    with running_proxy(upstream.url, tmp_path / "l.db", pipeline=pipeline) as (base_url, ctx, ledger):
        httpx.post(f"{base_url}/v1/messages", content=body,
                   headers={"x-api-key": FAKE_ANTHROPIC_KEY, "content-type": "application/json"})
    (received,) = upstream.requests_to("/v1/messages")
    assert received.body == body
    assert "pipeline" not in rows(tmp_path / "l.db")[0]["details"]


def test_lossy_elision_stores_the_full_text_where_optimize_finds_it(upstream, tmp_path):
    log = "\n".join(f"step {i}: compiled module_{i}.o in {i % 17} ms" for i in range(4000))
    messages = [MESSAGES[0], MESSAGES[1],
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": log}]}]
    config = PipelineConfig(compress=CompressConfig(lossy=True, lossy_threshold_tokens=1000))
    pipeline = build_pipeline(config, elided_dir=tmp_path / "elided")
    with running_proxy(upstream.url, tmp_path / "l.db", pipeline=pipeline) as (base_url, ctx, ledger):
        httpx.post(f"{base_url}/v1/messages", headers={"x-api-key": FAKE_ANTHROPIC_KEY, "content-type": "application/json"},
                   content=json.dumps({"model": "claude-x", "max_tokens": 5, "messages": messages}).encode())
    (received,) = upstream.requests_to("/v1/messages")
    sent = received.json["messages"][2]["content"][0]["content"]
    assert "[lynkr elided lines 81-3960 of 4000" in sent
    (compress,) = [s for s in rows(tmp_path / "l.db")[0]["details"]["pipeline"]["stages"] if s["stage"] == "compress"]
    item = compress["items"][0]
    assert item["representation"] == "text-elided"
    assert (tmp_path / "elided" / f"{item['elided_ref']}.txt").read_text() == log
