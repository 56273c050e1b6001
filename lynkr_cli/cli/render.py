"""Turning session figures into text: a plain short report (no rich import, it runs at every exit)
and a full rich table."""

from __future__ import annotations

import sys
from typing import Any, TextIO

from lynkr_cli.ledger.report import SessionSummary, Totals
from lynkr_cli.printable import printable


def fmt_tokens(n: int) -> str:
    if n >= 1_000_000:
        return f"{n / 1_000_000:.2f}M"
    if n >= 10_000:
        return f"{n / 1000:.1f}k"
    return f"{n:,}"


def fmt_cost(totals: Totals) -> str:
    if totals.requests == 0:
        return "$0"
    text = f"${totals.cost_usd:.4f}"
    if totals.unpriced_requests:
        text += f" (+{totals.unpriced_requests} unpriced)"
    return text


def fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    seconds = int(round(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h{m:02d}m" if h else (f"{m}m{s:02d}s" if m else f"{s}s")


def short_report(summary: SessionSummary) -> str:
    t = summary.totals
    exit_text = f"exit {summary.exit_code}" if summary.exit_code is not None else summary.status
    head = (f"lynkr: session {printable(summary.session_id)} · {printable(summary.agent)} · {exit_text} · "
            f"{fmt_duration(summary.duration_s)}")
    if t.requests == 0:
        return f"{head}\n  no model requests"
    body = (
        f"  {t.requests} request{'s' if t.requests != 1 else ''} ({t.errors} error{'s' if t.errors != 1 else ''})"
        f" · in {fmt_tokens(t.input_tokens)} · out {fmt_tokens(t.output_tokens)}"
        f" · cache read {fmt_tokens(t.cache_read_tokens)} · cache write {fmt_tokens(t.cache_write_tokens)}"
        f" · cost {fmt_cost(t)} (list prices {summary.prices_as_of})"
    )
    if t.usage_missing:
        body += f"\n  {t.usage_missing} request(s) returned no usage figures"
    if summary.by_tier:
        body += "\n" + tier_line(summary)
    if summary.optimization:
        body += "\n" + optimization_lines(summary.optimization)
    if summary.cache:
        body += "\n" + cache_line(summary.cache)
    return f"{head}\n{body}"


def optimization_lines(opt: dict) -> str:
    """What the pipeline saved: tokens per stage, tool-result representations, cost with and without."""
    k = opt.get("calibration_factor")
    scale = f"o200k x{k:.2f} calibrated on {opt['calibration_samples']} request(s)" if k else "o200k estimate"
    stages = ", ".join(f"{s['stage']} {fmt_signed(s['tokens_saved'])}" for s in opt["stages"]) or "nothing to do"
    line = (f"  optimized {opt['requests_optimized']} request(s): saved {fmt_signed(opt['tokens_saved'])} tokens"
            f" ({stages}; {scale})")
    if opt["actual_usd"] or opt["without_lynkr_usd"]:
        line += (f" · without lynkr ${opt['without_lynkr_usd']:.4f}, actual ${opt['actual_usd']:.4f}"
                 f" (saved ${opt['usd_saved']:.4f}, cache reads/writes priced)")
    reps = opt.get("representations") or {}
    extra = []
    if reps:
        extra.append("tool results: " + ", ".join(f"{n} {name}" for name, n in sorted(reps.items())))
    if opt.get("tool_path") and opt["tool_path"] != "none":
        extra.append(f"tools: {opt['tool_path']}")
    if opt.get("cache_breaks"):
        extra.append(f"{opt['cache_breaks']} cache re-write(s) after reads began, "
                     f"-${opt['cache_break_usd']:.4f} counted as a loss")
    if opt.get("stage_errors"):
        extra.append(f"{opt['stage_errors']} stage failure(s), requests forwarded unchanged")
    return line + ("\n  " + " · ".join(extra) if extra else "")


def fmt_signed(n: float) -> str:
    return f"-{fmt_tokens(int(-n))}" if n < 0 else fmt_tokens(int(n))


def tier_line(summary: SessionSummary) -> str:
    """Requests and dollars per routing tier, with failovers, on one line."""
    parts = []
    for line in summary.by_tier:
        text = f"{printable(line.tier)} {line.requests} req {fmt_cost(line)}"
        if line.failovers:
            text += f" ({line.failovers} failed over)"
        parts.append(text)
    return "  tiers: " + " · ".join(parts)


def print_full_report(summary: SessionSummary, file: TextIO | None = None) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(file=file or sys.stderr, highlight=False, markup=False)
    console.print(short_report(summary).splitlines()[0], style="bold")
    t = summary.totals
    if t.requests == 0:
        console.print("  no model requests")
        return
    table = Table(show_edge=False, pad_edge=False, box=None, header_style="bold")
    for column in ("model", "provider", "requests", "errors", "in", "out", "cache read", "cache write", "cost"):
        table.add_column(column, justify="left" if column in ("model", "provider") else "right")
    for line in summary.by_model:
        table.add_row(
            printable(line.model), printable(line.provider), str(line.requests), str(line.errors), fmt_tokens(line.input_tokens),
            fmt_tokens(line.output_tokens), fmt_tokens(line.cache_read_tokens), fmt_tokens(line.cache_write_tokens),
            fmt_cost(line),
        )
    if len(summary.by_model) > 1:
        table.add_row(
            "total", "", str(t.requests), str(t.errors), fmt_tokens(t.input_tokens), fmt_tokens(t.output_tokens),
            fmt_tokens(t.cache_read_tokens), fmt_tokens(t.cache_write_tokens), fmt_cost(t), style="bold",
        )
    console.print(table)
    if summary.by_tier:
        console.print(tier_line(summary))
    if summary.cache:
        console.print(cache_line(summary.cache))
    if summary.optimization:
        _print_optimization(console, summary.optimization)
    notes = [f"costs at list prices as of {summary.prices_as_of}, cache reads and writes included"]
    if summary.other_calls:
        notes.append(f"{summary.other_calls} other API call(s) (token counting, model lists) not billed")
    if t.usage_missing:
        notes.append(f"{t.usage_missing} request(s) returned no usage figures")
    for note in notes:
        console.print(f"  {note}", style="dim")


def _print_optimization(console, opt: dict) -> None:  # type: ignore[no-untyped-def]
    """Per-stage savings table (tokens o200k and calibrated, dollars), then the summary lines."""
    from rich.table import Table

    table = Table(show_edge=False, pad_edge=False, box=None, header_style="bold")
    for column in ("stage", "requests changed", "tokens saved (o200k)", "calibrated", "$ saved"):
        table.add_column(column, justify="left" if column == "stage" else "right")
    for line in opt["stages"]:
        table.add_row(line["stage"], str(line["requests_changed"]), fmt_signed(line["tokens_saved"]),
                      fmt_signed(line["tokens_saved_calibrated"]), f"${line['usd_saved']:.4f}")
    if opt["stages"]:
        console.print(table)
    console.print(optimization_lines(opt))


def cache_line(summary: dict[str, Any]) -> str:
    """One report line: ``cache: 3 hits (2 exact, 1 semantic) · 5 misses · 1 skipped · saved …``."""
    hits = summary["hits_exact"] + summary["hits_semantic"]
    text = (f"  cache: {hits} hit{'s' if hits != 1 else ''} ({summary['hits_exact']} exact,"
            f" {summary['hits_semantic']} semantic) · {summary['misses']} miss{'es' if summary['misses'] != 1 else ''}"
            f" · {summary['skips']} skipped")
    if hits:
        text += (f" · saved {fmt_tokens(summary['saved_input_tokens'])} in + {fmt_tokens(summary['saved_output_tokens'])}"
                 f" out tokens, ${summary['saved_usd']:.4f}")
        if summary["unpriced_hits"]:
            text += f" (+{summary['unpriced_hits']} unpriced)"
    return text
