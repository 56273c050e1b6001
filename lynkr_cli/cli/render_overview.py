"""Drawing an ``Overview`` in the terminal: totals, sparklines per day, bar charts per breakdown.

Every line fits the console width (80 columns is the design target): names are shortened with an
ellipsis and bars take what is left. Also the CSV form for scripts.
"""

from __future__ import annotations

import csv
import io
import time
from typing import TextIO

from lynkr_cli.cli.render import fmt_tokens
from lynkr_cli.ledger.overview import Line, Overview
from lynkr_cli.printable import printable

SPARKS = "▁▂▃▄▅▆▇█"


def sparkline(values: list[float]) -> str:
    """One character per value, scaled to the largest; zero is the lowest block."""
    top = max(values, default=0)
    if top <= 0:
        return SPARKS[0] * len(values)
    return "".join(SPARKS[min(len(SPARKS) - 1, int(v / top * (len(SPARKS) - 1) + 0.5))] for v in values)


def _fit(name: str, width: int) -> str:
    return name if len(name) <= width else name[: width - 1] + "…"


def _money(value: float) -> str:
    return f"${value:,.2f}" if value >= 1 else f"${value:.4f}"


def bar_lines(lines: list[Line], width: int, by_cost: bool) -> list[tuple[str, str, str]]:
    """(label, bar, figures) per line, bars scaled to the largest cost (or request count)."""
    metric = (lambda l: l.cost_usd) if by_cost else (lambda l: float(l.requests))  # noqa: E731
    top = max((metric(l) for l in lines), default=0) or 1
    name_w = min(22, max((len(printable(l.name)) for l in lines), default=4))
    figures = [f"{_money(l.cost_usd):>9} {l.requests:>6} req" + (f" {l.sessions:>4} ses" if l.sessions else "")
               for l in lines]
    fig_w = max((len(f) for f in figures), default=0)
    bar_w = max(4, width - 2 - name_w - 1 - 1 - fig_w)
    out = []
    for line, fig in zip(lines, figures):
        n = int(round(metric(line) / top * bar_w))
        bar = "█" * n if n else ("▏" if metric(line) > 0 else "")
        out.append((_fit(printable(line.name), name_w).ljust(name_w), bar.ljust(bar_w), fig.rjust(fig_w)))
    return out


def print_overview(overview: Overview, file: TextIO | None = None, title: str = "") -> None:
    from rich.console import Console

    console = Console(file=file, highlight=False, markup=False)
    width = min(console.width, 100)
    t = overview.totals
    start = time.strftime("%Y-%m-%d", time.localtime(overview.since)) if overview.since else "the start"
    end = time.strftime("%Y-%m-%d %H:%M", time.localtime(overview.until))
    console.print(_fit(f"lynkr report · {title or 'all sessions'} · {start} → {end}", width), style="bold")
    if overview.sessions == 0:
        console.print("  no sessions in this period")
        return
    console.print(_fit(f"  {overview.sessions} sessions · {t.requests} requests ({t.errors} errors) · "
                       f"cost {_money(t.cost_usd)}", width))
    console.print(_fit(f"  tokens in {fmt_tokens(t.input_tokens)} · out {fmt_tokens(t.output_tokens)} · "
                       f"cache read {fmt_tokens(t.cache_read_tokens)} · write {fmt_tokens(t.cache_write_tokens)}",
                       width))
    if t.unpriced_requests:
        console.print(f"  {t.unpriced_requests} request(s) on models without a list price (not counted)", style="dim")
    if len(overview.by_day) > 1:
        spark_w = width - 24
        days = overview.by_day[-spark_w:]
        console.print()
        console.print(f"  per day  {days[0].name[5:]} … {days[-1].name[5:]}", style="bold")
        console.print(f"  requests {sparkline([float(d.requests) for d in days])}  max {max(d.requests for d in days)}")
        console.print(f"  cost     {sparkline([d.cost_usd for d in days])}  max "
                      f"{_money(max(d.cost_usd for d in days))}")
    sections = [("by agent", overview.by_agent, True), ("by model", overview.by_model, True),
                ("by tier", overview.by_tier, True)]
    for heading, lines, by_cost in sections:
        if not lines:
            continue
        console.print()
        console.print(f"  {heading}", style="bold")
        for label, bar, figures in bar_lines(lines[:10], width, by_cost):
            console.print(f"  {label} ", end="")
            console.print(bar, style="cyan", end="")
            console.print(f" {figures}")
        if len(lines) > 10:
            console.print(f"  … and {len(lines) - 10} more (--json has all)", style="dim")
    if overview.stages:
        console.print()
        console.print("  savings by stage (o200k token estimate, before the provider's prompt cache)", style="bold")
        bars = bar_lines([Line(name=s.stage, requests=max(s.saved, 0)) for s in overview.stages], width - 10,
                         by_cost=False)
        for stage, (label, bar, _fig) in zip(overview.stages, bars):
            console.print(f"  {label} ", end="")
            console.print(bar, style="green", end="")
            console.print(f" {fmt_tokens(stage.saved):>8} in {stage.requests_changed} req")
    if overview.cache_lookups:
        rate = overview.cache_hits / overview.cache_lookups * 100
        console.print()
        console.print(f"  cache  {overview.cache_hits} hits of {overview.cache_lookups} lookups ({rate:.0f}%)")
    console.print()
    console.print(_fit(f"  list prices as of {overview.prices_as_of}; cache reads and writes included", width),
                  style="dim")


CSV_FIELDS = ["id", "started", "agent", "status", "exit_code", "duration_s", "requests", "errors", "input_tokens",
              "output_tokens", "cache_read_tokens", "cache_write_tokens", "cost_usd", "tokens_saved", "cache_hits"]


def overview_csv(overview: Overview) -> str:
    """One row per session, newest first, ISO times, dollars with 6 decimals."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    for r in overview.rows:
        writer.writerow([
            r.id, time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(r.started_at)), r.agent, r.status,
            "" if r.exit_code is None else r.exit_code, "" if r.duration_s is None else f"{r.duration_s:.1f}",
            r.requests, r.errors, r.input_tokens, r.output_tokens, r.cache_read_tokens, r.cache_write_tokens,
            f"{r.cost_usd:.6f}", r.tokens_saved, r.cache_hits,
        ])
    return buffer.getvalue()
