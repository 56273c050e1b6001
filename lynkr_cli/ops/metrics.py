"""Prometheus metrics for ``lynkr serve`` (prometheus-client), from the ledger rows it records.

Every finished request updates the counters and histograms below, labelled by provider, model, tier
and user key (the key's name; requests with the serve token have ``key=""``). The registry is this
process's own, not the library's global one, so several proxies in one process stay apart. Model
names come from clients: past ``MAX_MODELS`` distinct ones, further names count as ``other`` so a
client cannot grow the metrics without bound.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

if TYPE_CHECKING:
    from lynkr_cli.ledger import RequestRecord

CONTENT_TYPE = CONTENT_TYPE_LATEST
MAX_MODELS = 200
LABELS = ("provider", "model", "tier", "key")
# Added latency of a proxy is milliseconds; a model's answer is seconds to minutes.
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)
_TTFB_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class Metrics:
    """The metrics of one serve process; ``observe`` is a ``ProxyContext`` listener."""

    def __init__(self) -> None:
        disable_created_metrics()  # the *_created series double the output and say nothing here
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter("lynkr_requests", "Model and API requests answered", LABELS, registry=r)
        self.errors = Counter("lynkr_errors", "Requests answered with an error (status >= 400 or a broken stream)",
                              (*LABELS, "status"), registry=r)
        self.tokens = Counter("lynkr_tokens", "Tokens reported by upstreams", (*LABELS, "kind"), registry=r)
        self.cost = Counter("lynkr_cost_usd", "Cost at list prices, US dollars", LABELS, registry=r)
        self.latency = Histogram("lynkr_request_duration_seconds", "Time from request to the end of the answer",
                                 LABELS, buckets=_LATENCY_BUCKETS, registry=r)
        self.ttfb = Histogram("lynkr_time_to_first_byte_seconds", "Time from request to the first byte of the answer",
                              LABELS, buckets=_TTFB_BUCKETS, registry=r)
        self.cache_hits = Counter("lynkr_cache_hits", "Answers served from the response cache",
                                  (*LABELS, "kind"), registry=r)
        self.failovers = Counter("lynkr_failovers", "Requests answered by another model after the first failed",
                                 (*LABELS, "from_model"), registry=r)
        self._models: set[str] = set()
        self._lock = threading.Lock()

    def gauge(self, name: str, documentation: str, read: Callable[[], float]) -> None:
        """A value read at each scrape (database up, rows in the spool, active keys)."""
        Gauge(name, documentation, registry=self.registry).set_function(read)

    def observe(self, record: RequestRecord) -> None:
        route = _table(record.details.get("route"))
        labels = (record.provider or "", self._model(record.model_used or record.model_requested or ""),
                  str(route.get("tier") or ""), record.key_name or "")
        self.requests.labels(*labels).inc()
        status = record.status or 0
        if status >= 400 or record.error:
            self.errors.labels(*labels, str(status or "stream")).inc()
        for kind, value in (("input", record.input_tokens), ("output", record.output_tokens),
                            ("cache_read", record.cache_read_tokens), ("cache_write", record.cache_write_tokens)):
            if value:
                self.tokens.labels(*labels, kind).inc(value)
        if record.cost_usd:
            self.cost.labels(*labels).inc(record.cost_usd)
        if record.latency_ms is not None:
            self.latency.labels(*labels).observe(record.latency_ms / 1000)
        if record.ttfb_ms is not None:
            self.ttfb.labels(*labels).observe(record.ttfb_ms / 1000)
        cache = _table(record.details.get("cache"))
        if str(cache.get("decision", "")).startswith("hit-"):
            self.cache_hits.labels(*labels, str(cache["decision"])[4:]).inc()
        failover = route.get("failover")
        if isinstance(failover, dict):
            self.failovers.labels(*labels, self._model(str(failover.get("from", "")))).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)

    def _model(self, name: str) -> str:
        name = name[:120]
        with self._lock:
            if name in self._models:
                return name
            if len(self._models) >= MAX_MODELS:
                return "other"
            self._models.add(name)
            return name


def _table(value: Any) -> dict[str, Any]:
    """A ``details`` entry when it is a table (components record tables; anything else counts as none)."""
    return value if isinstance(value, dict) else {}
