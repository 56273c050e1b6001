"""What /metrics counts for each recorded request, and that clients cannot grow it without bound."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from lynkr_cli.ledger import RequestRecord
from lynkr_cli.ops import metrics as metrics_module
from lynkr_cli.ops.metrics import Metrics


def samples(m: Metrics) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(m.render().decode()) for s in family.samples}


def record(**fields: object) -> RequestRecord:
    base: dict[str, object] = {"session_id": "s", "started_at": 0.0, "route": "/v1/messages", "provider": "anthropic",
                               "model_used": "claude-sonnet-4-6", "status": 200, "latency_ms": 120.0, "ttfb_ms": 30.0}
    return RequestRecord(**{**base, **fields})  # type: ignore[arg-type]


def test_each_request_counts_by_provider_model_tier_and_key():
    m = Metrics()
    m.observe(record(key_name="alice", input_tokens=100, output_tokens=10, cost_usd=0.01,
                     details={"route": {"tier": "COMPLEX", "failover": {"from": "ollama:qwen", "to": "anthropic:x"}}}))
    m.observe(record(key_name="alice", details={"route": {"tier": "COMPLEX"}, "cache": {"decision": "hit-semantic"}}))
    m.observe(record(status=429, error="key 'bob' reached its daily budget", key_name="bob"))
    found = samples(m)
    alice = {("provider", "anthropic"), ("model", "claude-sonnet-4-6"), ("tier", "COMPLEX"), ("key", "alice")}
    assert found[("lynkr_requests_total", frozenset(alice))] == 2
    assert found[("lynkr_tokens_total", frozenset(alice | {("kind", "input")}))] == 100
    assert found[("lynkr_cost_usd_total", frozenset(alice))] == 0.01
    assert found[("lynkr_cache_hits_total", frozenset(alice | {("kind", "semantic")}))] == 1
    assert found[("lynkr_failovers_total", frozenset(alice | {("from_model", "ollama:qwen")}))] == 1
    assert found[("lynkr_request_duration_seconds_count", frozenset(alice))] == 2
    assert found[("lynkr_time_to_first_byte_seconds_bucket", frozenset(alice | {("le", "0.05")}))] == 2
    bob = {("provider", "anthropic"), ("model", "claude-sonnet-4-6"), ("tier", ""), ("key", "bob")}
    assert found[("lynkr_errors_total", frozenset(bob | {("status", "429")}))] == 1


def test_model_names_from_clients_are_capped(monkeypatch):
    monkeypatch.setattr(metrics_module, "MAX_MODELS", 3)
    m = Metrics()
    for i in range(10):
        m.observe(record(model_used=f"model-{i}\n{'x' * 500}"))
    models = {dict(labels)["model"] for name, labels in samples(m) if name == "lynkr_requests_total"}
    assert len(models) == 4 and "other" in models and all(len(name) <= 120 for name in models)
