"""Turning session figures into text: the exit report (printed after every session) and the full
report of ``lynkr report``. Plain text laid out by ``layout.py``: every line fits the terminal (80
columns when it is not one), breaking only between figures, and nothing imports rich."""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

from lynkr_cli.cli.layout import fill, join, table, width_of
from lynkr_cli.ledger.report import ErrorLine, LoopLine, SessionSummary, Totals
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
    if totals.unpriced_requests and not totals.cost_usd:
        return f"unpriced ({totals.unpriced_requests})"  # never "$0" for what nobody could price
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


def fmt_signed(n: float) -> str:
    return f"-{fmt_tokens(int(-n))}" if n < 0 else fmt_tokens(int(n))


def head_parts(summary: SessionSummary) -> list[str]:
    exit_text = f"exit {summary.exit_code}" if summary.exit_code is not None else summary.status
    return [f"lynkr: session {printable(summary.session_id)}", printable(summary.agent), exit_text,
            fmt_duration(summary.duration_s)]


def totals_parts(t: Totals) -> list[str]:
    return [f"{t.requests} request{'s' if t.requests != 1 else ''} ({t.errors} error{'s' if t.errors != 1 else ''})",
            f"in {fmt_tokens(t.input_tokens)}", f"out {fmt_tokens(t.output_tokens)}",
            f"cache read {fmt_tokens(t.cache_read_tokens)}", f"cache write {fmt_tokens(t.cache_write_tokens)}",
            f"cost {fmt_cost(t)}"]


def short_report(summary: SessionSummary, width: int | None = None) -> str:
    """The exit report: a few lines, each fitting ``width`` (the terminal's, else 80)."""
    width = width or width_of(sys.stderr)
    t = summary.totals
    lines = join(head_parts(summary), width, first="", indent="  ")
    if t.requests == 0:
        return "\n".join(lines + ["  no model requests"])
    lines += join(totals_parts(t), width)
    lines += price_lines(summary, width)
    if t.usage_missing:
        lines += fill(f"{t.usage_missing} request(s) returned no usage figures", width, first="  ")
    if summary.by_tier:
        lines += tier_lines(summary, width)
    if summary.optimization:
        lines += optimization_lines(summary.optimization, width)
    if summary.cache:
        lines += join(cache_line(summary.cache).strip().split(" · "), width)
    lines += loop_lines(summary.loops, width)
    lines += error_lines(summary.errors, width, limit=3)
    return "\n".join(lines)


def price_lines(summary: SessionSummary, width: int) -> list[str]:
    """Which source priced each model (and as of when): one part per source, models named."""
    by_source: dict[str, list[str]] = {}
    for line in summary.by_model:
        if line.price_source:
            by_source.setdefault(line.price_source, []).append(printable(line.model))
    if not by_source:
        return []
    parts = [f"{', '.join(models)}: {source}" for source, models in by_source.items()]
    parts[0] = "priced " + parts[0]
    return join(parts, width, sep="; ")


def optimization_lines(opt: dict[str, Any], width: int | None = None) -> list[str]:
    """What the pipeline saved: tokens per stage, tool-result representations, cost with and without."""
    width = width or width_of(sys.stderr)
    k = opt.get("calibration_factor")
    scale = f"o200k x{k:.2f} calibrated on {opt['calibration_samples']} request(s)" if k else "o200k estimate"
    stages = ", ".join(f"{s['stage']} {fmt_signed(s['tokens_saved'])}" for s in opt["stages"]) or "nothing to do"
    parts = [f"optimized {opt['requests_optimized']} request(s): saved {fmt_signed(opt['tokens_saved'])} tokens"
             f" ({stages}; {scale})"]
    if opt["actual_usd"] or opt["without_lynkr_usd"]:
        parts += [f"without lynkr ${opt['without_lynkr_usd']:.4f}, actual ${opt['actual_usd']:.4f}",
                  f"saved ${opt['usd_saved']:.4f} (cache reads/writes priced)"]
    reps = opt.get("representations") or {}
    if reps:
        parts.append("tool results: " + ", ".join(f"{n} {name}" for name, n in sorted(reps.items())))
    if opt.get("tool_path") and opt["tool_path"] != "none":
        parts.append(f"tools: {opt['tool_path']}")
    if opt.get("cache_breaks"):
        parts.append(f"{opt['cache_breaks']} cache re-write(s) after reads began, "
                     f"-${opt['cache_break_usd']:.4f} counted as a loss")
    if opt.get("stage_errors"):
        parts.append(f"{opt['stage_errors']} stage failure(s), requests forwarded unchanged")
    return join(parts, width)


def tier_lines(summary: SessionSummary, width: int) -> list[str]:
    """Requests and dollars per routing tier, with failovers."""
    parts = []
    for line in summary.by_tier:
        text = f"{printable(line.tier)} {line.requests} req {fmt_cost(line)}"
        if line.failovers:
            text += f" ({line.failovers} failed over)"
        parts.append(text)
    parts[0] = "tiers: " + parts[0]
    return join(parts, width)


def tier_line(summary: SessionSummary) -> str:
    return "\n".join(tier_lines(summary, 10_000))


def loop_lines(loops: list[LoopLine], width: int) -> list[str]:
    parts = [f"{'stopped' if loop.action == 'stopped' else 'flagged'} {loop.count}× {printable(loop.tool)} "
             f"called with identical input {loop.repeats} times in a row" for loop in loops]
    if parts:
        parts[0] = "loop guard: " + parts[0]
    return join(parts, width)


def error_lines(errors: list[ErrorLine], width: int, limit: int | None = None) -> list[str]:
    """One line per kind of failed request: count, status, provider, the message (shortened)."""
    if not errors:
        return []
    lines = [f"  errors ({sum(e.count for e in errors)}):"]
    for error in errors[:limit]:
        head = f"    {error.count}× {error.status or '-'} {printable(error.provider) or '-'}: "
        lines += fill(short_message(error.message, 2 * width - len(head) - 8), width, first=head, indent="      ")
    if limit is not None and len(errors) > limit:
        lines.append(f"    … and {len(errors) - limit} more (lynkr report)")
    return lines


def short_message(message: str, limit: int) -> str:
    """The first line of ``message``, cut at a word before ``limit`` characters."""
    text = printable(message.strip().splitlines()[0] if message.strip() else message)
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit - 1)
    return text[: cut if cut > limit // 2 else limit - 1] + "…"


def print_full_report(summary: SessionSummary, file: TextIO | None = None, requests: list[dict[str, Any]] | None = None,
                      width: int | None = None) -> None:
    """``lynkr report``: the head, a table per model (stacked when the terminal is too narrow for
    it), tiers, cache, savings per stage, loops, every kind of error, then notes."""
    out = file or sys.stderr
    width = width or width_of(out)
    lines = join(head_parts(summary), width, first="", indent="  ")
    t = summary.totals
    if t.requests == 0:
        lines.append("  no model requests")
        print("\n".join(lines), file=out)
        return
    lines += model_lines(summary, width)
    lines += price_lines(summary, width)
    if summary.by_tier:
        lines += tier_lines(summary, width)
    if summary.cache:
        lines += join(cache_line(summary.cache).strip().split(" · "), width)
    if summary.optimization:
        lines += stage_lines(summary.optimization, width)
        lines += optimization_lines(summary.optimization, width)
    lines += loop_lines(summary.loops, width)
    lines += error_lines(summary.errors, width)
    if requests is not None:
        lines += request_lines(requests, width)
    notes = ["costs include cache reads and writes"]
    if summary.other_calls:
        notes.append(f"{summary.other_calls} other API call(s) (token counting, model lists) not billed")
    if t.usage_missing:
        notes.append(f"{t.usage_missing} request(s) returned no usage figures")
    lines += join(notes, width)
    print("\n".join(lines), file=out)


_COLUMNS = ["model", "provider", "requests", "errors", "in", "out", "cache read", "cache write", "cost"]


def model_lines(summary: SessionSummary, width: int) -> list[str]:
    """Per model: a table when it fits, else the model on one line and its figures under it."""
    t = summary.totals
    rows = [_COLUMNS]
    for line in summary.by_model:
        rows.append([printable(line.model), printable(line.provider), *_figures(line)])
    if len(summary.by_model) > 1:
        rows.append(["total", "", *_figures(t)])
    laid = table(rows, width, right=set(range(2, len(_COLUMNS))))
    if laid is not None:
        return laid
    lines: list[str] = []
    for line in summary.by_model:
        lines += join([printable(line.model), printable(line.provider)], width, indent="    ")
        lines += join(_labelled(line), width, first="    ", indent="    ")
    if len(summary.by_model) > 1:
        lines += join(["total", *_labelled(t)], width)
    return lines


def _figures(line: Totals) -> list[str]:
    return [str(line.requests), str(line.errors), fmt_tokens(line.input_tokens), fmt_tokens(line.output_tokens),
            fmt_tokens(line.cache_read_tokens), fmt_tokens(line.cache_write_tokens), fmt_cost(line)]


def _labelled(line: Totals) -> list[str]:
    return [f"{line.requests} req", f"{line.errors} err", f"in {fmt_tokens(line.input_tokens)}",
            f"out {fmt_tokens(line.output_tokens)}", f"cache read {fmt_tokens(line.cache_read_tokens)}",
            f"write {fmt_tokens(line.cache_write_tokens)}", fmt_cost(line)]


def stage_lines(opt: dict[str, Any], width: int) -> list[str]:
    """Per-stage savings: tokens (o200k and calibrated) and dollars."""
    if not opt["stages"]:
        return []
    rows = [["stage", "requests changed", "tokens saved (o200k)", "calibrated", "$ saved"]]
    for line in opt["stages"]:
        rows.append([line["stage"], str(line["requests_changed"]), fmt_signed(line["tokens_saved"]),
                     fmt_signed(line["tokens_saved_calibrated"]), f"${line['usd_saved']:.4f}"])
    laid = table(rows, width, right={1, 2, 3, 4})
    if laid is not None:
        return laid
    return [part for line in opt["stages"] for part in join(
        [line["stage"], f"{line['requests_changed']} changed", f"tokens saved (o200k) {fmt_signed(line['tokens_saved'])}",
         f"calibrated {fmt_signed(line['tokens_saved_calibrated'])}", f"${line['usd_saved']:.4f}"], width)]


def request_lines(requests: list[dict[str, Any]], width: int) -> list[str]:
    """``--requests``: every request row, oldest first."""
    lines = [f"  requests ({len(requests)}):"]
    for row in requests:
        details = row.get("details") or {}
        route = details.get("route") or {}
        parts = [time.strftime("%H:%M:%S", time.localtime(row["started_at"])), printable(row["route"]),
                 printable(row.get("model_used") or row.get("model_requested") or "-"),
                 printable(row.get("provider") or "-"), str(row.get("status") or "-")]
        if route.get("tier") and route.get("routed"):
            parts.append(printable(route["tier"]))
        if row.get("input_tokens") is not None or row.get("output_tokens") is not None:
            parts.append(f"in {fmt_tokens(row.get('input_tokens') or 0)} out {fmt_tokens(row.get('output_tokens') or 0)}")
        failed = bool(row.get("error")) or (row.get("status") or 0) >= 400
        if row.get("cost_usd") is not None:
            parts.append(f"${row['cost_usd']:.4f}")
        elif not failed:
            parts.append("unpriced")
        if row.get("latency_ms") is not None:
            parts.append(f"{row['latency_ms']:.0f} ms")
        if (details.get("cache") or {}).get("hit"):
            parts.append("cache hit")
        if details.get("loop_guard"):
            parts.append(f"loop {details['loop_guard'].get('action')}")
        if row.get("error"):
            parts.append(short_message(str(row["error"]), width - 8))
        lines += join(parts, width, first="    ", indent="      ")
    return lines


def cache_line(summary: dict[str, Any]) -> str:
    """One report line: ``cache: 3 hits (2 exact, 1 semantic at similarity 0.93) · 5 misses · 1 skipped · saved …``."""
    from lynkr_cli.ledger.cache_summary import similarity_text

    hits = summary["hits_exact"] + summary["hits_semantic"]
    similarity = similarity_text(summary.get("semantic_similarities") or [])
    text = (f"  cache: {hits} hit{'s' if hits != 1 else ''} ({summary['hits_exact']} exact,"
            f" {summary['hits_semantic']} semantic{similarity}) · {summary['misses']} miss{'es' if summary['misses'] != 1 else ''}"
            f" · {summary['skips']} skipped")
    if hits:
        text += (f" · saved {fmt_tokens(summary['saved_input_tokens'])} in + {fmt_tokens(summary['saved_output_tokens'])}"
                 f" out tokens, ${summary['saved_usd']:.4f}")
        if summary["unpriced_hits"]:
            text += f" (+{summary['unpriced_hits']} unpriced)"
    return text
