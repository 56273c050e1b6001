"""What the optimization pipeline saved in a session, in tokens and dollars, counted honestly.

Sources, all from the ledger rows: each stage's o200k token counts before and after (the pipeline's
``details``), the provider's own ``usage`` and the dated price table.

- Calibration: o200k is exact for OpenAI models and only an estimate for Claude. On a few sampled
  requests the whole forwarded request is also counted in o200k (``pipeline/calibrate.py``); the
  provider's billed input (uncached + cache reads + cache writes) divided by that count, summed over
  the samples, is the session's factor, and token savings are multiplied by it. Without samples the factor is 1 and the figure says so.
- Dollars: a saved token is priced where the provider would have billed it. Tokens saved in the
  newest message would have been uncached input (or a cache write, when the request wrote the cache);
  tokens saved in earlier messages or in the tool list sit in the cached prefix and would mostly have
  been cache reads (0.1x) when the request read the cache. So the counterfactual "without lynkr" cost
  is the actual cost plus those amounts, never the raw token count times the input price.
- A stage whose output was larger than its input counts negative: a loss, not a saving.
- Cache breaks count against lynkr: when an optimized request wrote the cache and read nothing while
  the previous request of the same model had read it, the written tokens are priced as the reads they
  should have been and that difference is taken off the savings, whatever the real cause was.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Iterable

from lynkr_cli.ledger.pricing import Price, price_for


@dataclass
class StageSavings:
    stage: str
    requests_changed: int = 0
    tokens_saved: int = 0  # o200k, as counted by the stage
    tokens_saved_calibrated: float = 0.0  # in the provider's tokens
    usd_saved: float = 0.0


@dataclass
class Savings:
    """The ``optimization`` part of a session report."""

    requests_optimized: int = 0
    stages: list[StageSavings] = field(default_factory=list)
    representations: dict[str, int] = field(default_factory=dict)  # tool results by what they became
    tool_path: str = "none"  # none | lynkr pruning | client tool search
    calibration_factor: float | None = None  # provider tokens per o200k token; None: not measured
    calibration_samples: int = 0
    actual_usd: float = 0.0
    without_lynkr_usd: float = 0.0
    unpriced_requests: int = 0
    stage_errors: int = 0
    cache_breaks: int = 0  # optimized requests that re-wrote the cache after reads had started
    cache_break_usd: float = 0.0  # their extra cost, charged to the pipeline as a loss

    @property
    def tokens_saved(self) -> int:
        return sum(s.tokens_saved for s in self.stages)

    @property
    def usd_saved(self) -> float:
        return self.without_lynkr_usd - self.actual_usd

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(tokens_saved=self.tokens_saved, usd_saved=self.usd_saved)
        return data


class SavingsTally:
    """``compute_savings`` one row at a time: the exit report and ``lynkr report`` feed it a session's
    rows, the live status line (``statusline/board.py``) each request as it finishes, and both give the
    same figures. Dollar sums are kept in o200k terms and scaled by the calibration factor at the end,
    since the factor is only known once every sample is in."""

    def __init__(self) -> None:
        self.out = Savings()
        self._stages: dict[str, StageSavings] = {}
        self._stage_usd: dict[str, float] = {}  # per stage: o200k token-dollars, not yet calibrated
        self._saved_usd = 0.0  # all stages: o200k token-dollars
        self._last_read: dict[str, bool] = {}  # per model: did its previous request read the cache?
        self._billed = self._counted = 0
        self.rows = 0

    def add(self, row: dict[str, Any]) -> None:
        """One model-request row (a ledger dict, or ``RequestRecord.as_row()``)."""
        pipeline = (row.get("details") or {}).get("pipeline")
        if not pipeline:
            return
        out = self.out
        self.rows += 1
        for sample in pipeline.get("calibration") or []:
            if sample.get("o200k"):
                self._billed += int(sample.get("billed") or 0)
                self._counted += int(sample["o200k"])
                out.calibration_samples += 1
        model = row.get("model_used") or row.get("model_requested") or ""
        read_before, self._last_read[model] = (self._last_read.get(model, False),
                                               (row.get("cache_read_tokens") or 0) > 0)
        cost = row.get("cost_usd")
        price = row_price(row)
        extra = 0.0
        if pipeline.get("changed"):
            out.requests_optimized += 1
        for report in pipeline.get("stages") or []:
            self._note(report)
            if not report.get("changed"):
                continue
            line = self._stages.setdefault(report["stage"], StageSavings(report["stage"]))
            saved = int(report.get("tokens_before") or 0) - int(report.get("tokens_after") or 0)
            line.requests_changed += 1
            line.tokens_saved += saved
            if price is None or cost is None:
                continue
            usd = _priced(report, saved, row, price) / 1_000_000
            self._stage_usd[line.stage] = self._stage_usd.get(line.stage, 0.0) + usd
            extra += usd
        if cost is None:
            if row.get("status") and row["status"] < 400:
                out.unpriced_requests += 1
            return
        if pipeline.get("changed") and read_before and price is not None and not row.get("cache_read_tokens") \
                and row.get("cache_write_tokens"):
            out.cache_breaks += 1
            out.cache_break_usd += row["cache_write_tokens"] * (price.cache_write - price.cache_read) / 1_000_000
        out.actual_usd += cost
        self._saved_usd += extra

    def _note(self, report: dict[str, Any]) -> None:
        """Stage failures, the tool path taken and what tool results became."""
        out = self.out
        if report.get("error"):
            out.stage_errors += 1
        decision = report.get("decision") or ""
        if report["stage"] == "prune":
            if decision.startswith("client tool search"):
                out.tool_path = "client tool search"
            elif decision.startswith(("dropped", "all")) and out.tool_path == "none":
                out.tool_path = "lynkr pruning"
        if report["stage"] == "compress":
            for item in report.get("items") or []:
                if "representation" in item:
                    out.representations[item["representation"]] = out.representations.get(item["representation"], 0) + 1

    def result(self) -> Savings:
        """The figures so far, calibrated (the tally can go on after this)."""
        from copy import deepcopy

        out = deepcopy(self.out)
        factor = self._billed / self._counted if self._counted else None
        out.calibration_factor = factor
        k = factor or 1.0
        for line in self._stages.values():
            copy = deepcopy(line)
            copy.tokens_saved_calibrated = line.tokens_saved * k
            copy.usd_saved = self._stage_usd.get(line.stage, 0.0) * k
            out.stages.append(copy)
        out.stages.sort(key=lambda s: -s.tokens_saved)
        out.without_lynkr_usd = out.actual_usd + self._saved_usd * k - out.cache_break_usd
        return out


def compute_savings(rows: Iterable[dict[str, Any]]) -> Savings | None:
    """The session's savings from its model-request rows; None when the pipeline never ran."""
    tally = SavingsTally()
    for row in rows:
        tally.add(row)
    return tally.result() if tally.rows else None


def row_price(row: dict[str, Any]) -> Price | None:
    """The price that priced ``row`` (stored with it since prices come from the catalogue), else the
    catalogue's price for its model today (rows recorded before)."""
    stored = (row.get("details") or {}).get("price")
    if isinstance(stored, dict):
        return Price.from_dict(stored)
    return price_for(row.get("model_used") or row.get("model_requested"), row.get("provider"))


def _priced(report: dict[str, Any], saved: int, row: dict[str, Any], price: Price) -> float:
    """Token-dollars (per million) of ``saved`` tokens, at the rate the provider would have billed."""
    read_cache = (row.get("cache_read_tokens") or 0) > 0
    wrote_cache = (row.get("cache_write_tokens") or 0) > 0
    prefix_rate = price.cache_read if read_cache else (price.cache_write if wrote_cache else price.input)
    new_rate = price.cache_write if wrote_cache else price.input
    metrics = report.get("metrics") or {}
    if "history_tokens_saved" in metrics:  # tool-result stages: earlier turns sit in the cached prefix
        history = int(metrics.get("history_tokens_saved") or 0)
        history = max(0, min(history, saved)) if saved > 0 else history
        return history * prefix_rate + (saved - history) * new_rate
    return saved * prefix_rate  # tool list: the very start of the cached prefix
