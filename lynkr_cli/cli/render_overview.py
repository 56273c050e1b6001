"""Drawing an ``Overview`` in the terminal: totals, sparklines per day, bar charts per breakdown.

Every line fits the terminal (80 columns when it is not one, up to 120 when wider): text wraps between
figures, a long name gets a line of its own (never cut), bars take what is left. Also the CSV form.
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


def _money(value: float) -> str:
    return f"${value:,.2f}" if value >= 1 else f"${value:.4f}"


def _cost(line: Line) -> str:
    """A line's dollars; ``unpriced`` when nothing of it could be priced (never $0)."""
    return "unpriced" if line.unpriced_requests and not line.cost_usd else _money(line.cost_usd)


NAME_MAX = 28  # a longer name gets a line of its own above its bar: never cut


def bar_lines(lines: list[Line], width: int, by_cost: bool) -> list[tuple[str | None, str, str, str]]:
    """(name line or None, label, bar, figures) per line, bars scaled to the largest cost (or count).
    A name wider than the label column is printed whole on its own line, the bar under it."""
    metric = (lambda l: l.cost_usd) if by_cost else (lambda l: float(l.requests))  # noqa: E731
    top = max((metric(l) for l in lines), default=0) or 1
    names = [printable(l.name) for l in lines]
    name_w = min(NAME_MAX, max((len(n) for n in names if len(n) <= NAME_MAX), default=4))
    figures = [f"{_cost(l):>9} {l.requests:>6} req" + (f" {l.sessions:>4} ses" if l.sessions else "") for l in lines]
    fig_w = max((len(f) for f in figures), default=0)
    bar_w = max(4, width - 2 - name_w - 1 - 1 - fig_w)
    out: list[tuple[str | None, str, str, str]] = []
    for line, name, fig in zip(lines, names, figures):
        n = int(round(metric(line) / top * bar_w))
        bar = "█" * n if n else ("▏" if metric(line) > 0 else "")
        own_line = name if len(name) > name_w else None
        out.append((own_line, ("" if own_line else name).ljust(name_w), bar.ljust(bar_w), fig.rjust(fig_w)))
    return out


def print_overview(overview: Overview, file: TextIO | None = None, title: str = "") -> None:
    from rich.console import Console

    from lynkr_cli.cli.layout import join, width_of

    console = Console(file=file, highlight=False, markup=False, soft_wrap=True)
    width = min(width_of(file), 120)
    t = overview.totals
    start = time.strftime("%Y-%m-%d", time.localtime(overview.since)) if overview.since else "the start"
    end = time.strftime("%Y-%m-%d %H:%M", time.localtime(overview.until))
    for line in join(["lynkr report", title or "all sessions", f"{start} → {end}"], width, first="", indent="  "):
        console.print(line, style="bold")
    if overview.sessions == 0:
        console.print("  no sessions in this period")
        return
    cost = f"cost {_money(t.cost_usd)}" + (f" (+{t.unpriced_requests} unpriced)" if t.unpriced_requests else "")
    for line in join([f"{overview.sessions} sessions", f"{t.requests} requests ({t.errors} errors)", cost,
                      f"tokens in {fmt_tokens(t.input_tokens)}", f"out {fmt_tokens(t.output_tokens)}",
                      f"cache read {fmt_tokens(t.cache_read_tokens)}", f"write {fmt_tokens(t.cache_write_tokens)}"],
                     width):
        console.print(line)
    if t.unpriced_requests:
        for line in join([f"{t.unpriced_requests} request(s) on models nobody could price (not in the cost)"], width):
            console.print(line, style="dim")
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
        for own_line, label, bar, figures in bar_lines(lines[:10], width, by_cost):
            if own_line is not None:
                console.print(f"  {own_line}")
            console.print(f"  {label} ", end="")
            console.print(bar, style="cyan", end="")
            console.print(f" {figures}")
        if len(lines) > 10:
            console.print(f"  … and {len(lines) - 10} more (--json has all)", style="dim")
    if overview.stages:
        console.print()
        for line in join(["savings by stage (o200k token estimate, before the provider's prompt cache)"], width):
            console.print(line, style="bold")
        bars = bar_lines([Line(name=s.stage, requests=max(s.saved, 0)) for s in overview.stages], width - 10,
                         by_cost=False)
        for stage, (own_line, label, bar, _fig) in zip(overview.stages, bars):
            if own_line is not None:
                console.print(f"  {own_line}")
            console.print(f"  {label} ", end="")
            console.print(bar, style="green", end="")
            console.print(f" {fmt_tokens(stage.saved):>8} in {stage.requests_changed} req")
    if overview.cache_lookups:
        rate = overview.cache_hits / overview.cache_lookups * 100
        console.print()
        console.print(f"  cache  {overview.cache_hits} hits of {overview.cache_lookups} lookups ({rate:.0f}%)")
    console.print()
    for line in join([f"prices: {overview.prices_as_of}", "cache reads and writes included"], width):
        console.print(line, style="dim")


def print_by_key(overview: Overview, file: TextIO | None = None, title: str = "") -> None:
    """``lynkr report --by-key``: one bar and the figures per user key of a team gateway, by cost."""
    from rich.console import Console

    from lynkr_cli.cli.layout import join, width_of

    console = Console(file=file, highlight=False, markup=False, soft_wrap=True)
    width = min(width_of(file), 120)
    for heading in join(["lynkr report --by-key", title or "all sessions"], width, first="", indent="  "):
        console.print(heading, style="bold")
    if not overview.by_key:
        console.print("  no requests in this period")
        return
    for (own_line, label, bar, figures), line in zip(bar_lines(overview.by_key, width, by_cost=True), overview.by_key):
        if own_line is not None:
            console.print(f"  {own_line}")
        console.print(f"  {label} ", end="")
        console.print(bar, style="cyan", end="")
        console.print(f" {figures}")
        for detail in join([f"{line.errors} errors", f"in {fmt_tokens(line.input_tokens)}",
                            f"out {fmt_tokens(line.output_tokens)}", f"cache read {fmt_tokens(line.cache_read_tokens)}"],
                           width, first="    ", indent="    "):
            console.print(detail, style="dim")
    console.print()
    for text in join([f"prices: {overview.prices_as_of}", "cache reads and writes included"], width):
        console.print(text, style="dim")


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
