"""Savings accounting: calibrated tokens, dollars at the rate they would have been billed, losses."""

from __future__ import annotations

import json

import httpx
import pytest

from lynkr_cli.cli.render import short_report
from lynkr_cli.ledger import LedgerReader
from lynkr_cli.ledger.pricing import price_for
from lynkr_cli.ledger.report import summarize
from lynkr_cli.ledger.savings import compute_savings
from lynkr_cli.pipeline.build import build_pipeline
from lynkr_cli.pipeline.config import PipelineConfig
from tests.conftest import FAKE_ANTHROPIC_KEY, running_proxy
from tests.fakes.anthropic import Turn, messages_handler, reply_for
from tests.fakes.server import FakeUpstream
from tests.pipeline.test_prefix_stability import SESSION

MODEL = "claude-sonnet-4-5"


def row(stages, *, cache_read=0, cache_write=0, input_tokens=1000, cost=0.01, sample=None, model=MODEL):
    pipeline = {"changed": any(s.get("changed") for s in stages), "stages": stages}
    if sample is not None:
        pipeline["calibration"] = [{"billed": input_tokens + cache_read + cache_write, "o200k": sample}]
    return {"route": "/v1/messages", "status": 200, "model_requested": model, "provider": "anthropic",
            "input_tokens": input_tokens, "output_tokens": 10, "cache_read_tokens": cache_read,
            "cache_write_tokens": cache_write, "cost_usd": cost, "details": {"pipeline": pipeline}}


def compress(before, after, history=0, items=()):
    return {"stage": "compress", "changed": before != after, "tokens_before": before, "tokens_after": after,
            "decision": "", "items": list(items), "metrics": {"history_tokens_saved": history}}


def test_saved_tokens_are_priced_where_they_would_have_been_billed():
    price = price_for(MODEL)
    rows = [
        # New tool result saved 1000 tokens; the request wrote the cache: a cache write avoided.
        row([compress(3000, 2000, items=[{"representation": "toon"}])], cache_write=5000),
        # Next turn: the same result is history (cache read avoided) and nothing new was saved.
        row([compress(1000, 0 + 0, history=1000)], cache_read=5000),
    ]
    savings = compute_savings(rows)
    expected = (1000 * price.cache_write + 1000 * price.cache_read) / 1e6
    assert savings.usd_saved == pytest.approx(expected)
    assert savings.actual_usd == pytest.approx(0.02)
    assert savings.without_lynkr_usd == pytest.approx(0.02 + expected)
    assert savings.tokens_saved == 2000 and savings.representations == {"toon": 1}
    assert savings.calibration_factor is None  # no sample: the figures are plain o200k


def test_calibration_scales_tokens_and_dollars_by_the_providers_own_count():
    price = price_for(MODEL)
    rows = [row([compress(3000, 2000)], input_tokens=1100, cache_read=0, cache_write=0, sample=1000)]
    savings = compute_savings(rows)
    assert savings.calibration_factor == pytest.approx(1.1)
    assert savings.stages[0].tokens_saved_calibrated == pytest.approx(1100)
    assert savings.usd_saved == pytest.approx(1100 * price.input / 1e6)


def test_a_stage_that_grew_the_request_counts_as_a_loss():
    savings = compute_savings([row([compress(1000, 1200)])])
    assert savings.tokens_saved == -200 and savings.usd_saved < 0


def test_a_cache_rewrite_after_reads_is_charged_to_the_pipeline():
    price = price_for(MODEL)
    rows = [row([compress(1000, 1000)], cache_read=9000),
            row([compress(2000, 1000)], cache_read=0, cache_write=9000)]  # optimized, and the cache broke
    savings = compute_savings(rows)
    loss = 9000 * (price.cache_write - price.cache_read) / 1e6
    gain = 1000 * price.cache_write / 1e6
    assert savings.cache_breaks == 1 and savings.cache_break_usd == pytest.approx(loss)
    assert savings.usd_saved == pytest.approx(gain - loss) and savings.usd_saved < 0


def test_no_pipeline_no_section():
    plain = dict(row([]), details={})
    assert compute_savings([plain]) is None


def reader_rows(tmp_path):
    reader = LedgerReader(tmp_path / "l.db")
    try:
        return reader.requests("test-session")
    finally:
        reader.close()


def test_replayed_claude_code_session_report(tmp_path):
    """The captured session through the real proxy: the report's figures follow from the ledger."""

    def respond(request, body):
        return reply_for(Turn(text="ok", input_tokens=50, output_tokens=20, cache_read_tokens=20000,
                              cache_write_tokens=3000), request)

    with FakeUpstream(messages_handler(respond)) as upstream:
        pipeline = build_pipeline(PipelineConfig(stages={"compress": True, "prune": True}))
        with running_proxy(upstream.url, tmp_path / "l.db", pipeline=pipeline) as (base_url, ctx, ledger):
            for path in SESSION:
                response = httpx.post(f"{base_url}/v1/messages", content=path.read_bytes(),
                                      headers={"x-api-key": FAKE_ANTHROPIC_KEY, "x-claude-code-session-id": "cc-1",
                                               "content-type": "application/json"})
                assert response.status_code == 200
                pipeline.session("cc-1").calibration.wait()  # a real turn takes seconds; the fake, ms
    reader = LedgerReader(tmp_path / "l.db")
    try:
        summary = summarize(reader.session("test-session"), reader.requests("test-session"))
    finally:
        reader.close()
    opt = summary.optimization
    assert opt["requests_optimized"] == len(SESSION)  # prune changes every request, compress from turn 2
    assert {s["stage"] for s in opt["stages"]} == {"prune", "compress"}
    assert opt["calibration_samples"] == 2  # turns 1 and 2, reported on turns 2 and 3
    rows = [r for r in reader_rows(tmp_path) if r["details"]["pipeline"].get("calibration")]
    billed = 50 + 20000 + 3000
    assert [r["details"]["pipeline"]["calibration"][0]["billed"] for r in rows] == [billed, billed]
    o200k = sum(r["details"]["pipeline"]["calibration"][0]["o200k"] for r in rows)
    assert opt["calibration_factor"] == pytest.approx(2 * billed / o200k)
    assert opt["representations"]["toon"] == 1 and opt["representations"]["text-clean"] >= 1
    assert opt["tool_path"] == "lynkr pruning"
    assert opt["without_lynkr_usd"] > opt["actual_usd"] == pytest.approx(summary.totals.cost_usd)
    text = short_report(summary)
    assert "optimized 5 request(s)" in text and "without lynkr $" in text and "1 toon" in text
    assert json.dumps(summary.to_dict())  # --report-json stays serializable
    import io

    from lynkr_cli.cli.render import print_full_report

    full = io.StringIO()
    print_full_report(summary, file=full)
    assert "tokens saved (o200k)" in full.getvalue() and "compress" in full.getvalue()
