"""The replay's figures for people (an 80-column table) and for scripts (``--json``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from lynkr_cli.printable import printable
from lynkr_cli.replay.engine import SessionResult

NUMERIC = ("requests", "input_tokens_direct", "input_tokens_lynkr", "input_tokens_recorded", "bill_direct_usd", "bill_lynkr_usd",
           "prefix_breaks", "lossless_failures", "last_request_input_tokens_lynkr")


@dataclass
class Totals:
    sessions: int = 0
    values: dict[str, float] = field(default_factory=dict)
    by_stage: dict[str, int] = field(default_factory=dict)
    by_kind: dict[str, int] = field(default_factory=dict)
    recorded_rebuilt: int = 0  # rebuilt input tokens of the sessions whose transcripts recorded usage
    routed_usd: float = 0.0
    routed_turns: dict[str, int] = field(default_factory=dict)


def totals(results: Iterable[SessionResult]) -> Totals:
    out = Totals(values={name: 0 for name in NUMERIC})
    for result in results:
        out.sessions += 1
        for name in NUMERIC:
            out.values[name] += getattr(result, name)
        for stage, saved in result.by_stage.items():
            out.by_stage[stage] = out.by_stage.get(stage, 0) + saved
        if result.input_tokens_recorded:
            out.recorded_rebuilt += result.input_tokens_direct
        for kind, tokens in result.input_by_kind.items():
            out.by_kind[kind] = out.by_kind.get(kind, 0) + tokens
        if result.routed is not None:
            out.routed_usd += result.routed.bill_usd
            for tier, n in result.routed.turns_by_tier.items():
                out.routed_turns[tier] = out.routed_turns.get(tier, 0) + n
    return out


def session_json(result: SessionResult) -> dict[str, Any]:
    data: dict[str, Any] = {"path": result.path, "agent": result.agent, "session_id": result.session_id}
    for name in NUMERIC:
        value = getattr(result, name)
        data[name] = round(value, 6) if isinstance(value, float) else value
    data["by_stage"] = dict(sorted(result.by_stage.items()))
    data["input_by_kind"] = _by_size(result.input_by_kind)
    if result.verify_failures is not None:
        data["verify_failures"] = result.verify_failures
    data.update(models=result.models, stage_errors=result.stage_errors, unpriced_requests=result.unpriced_requests,
                cache_read_tokens_direct=result.cache_read_tokens_direct,
                cache_read_tokens_lynkr=result.cache_read_tokens_lynkr,
                tools_offered=result.tools_offered, tools_used=result.tools_used,
                approximations=result.approximations, warnings=result.warnings)
    if result.routed is not None:
        data["if_quality_held"] = {"turns_by_tier": result.routed.turns_by_tier,
                                   "bill_usd": round(result.routed.bill_usd, 6)}
    return data


def to_json(results: list[SessionResult], meta: dict[str, Any]) -> dict[str, Any]:
    total = totals(results)
    data: dict[str, Any] = {name: (round(v, 6) if isinstance(v, float) else int(v)) for name, v in total.values.items()}
    data["sessions"] = total.sessions
    data["by_stage"] = dict(sorted(total.by_stage.items()))
    data["input_by_kind"] = _by_size(total.by_kind)
    verified = [r.verify_failures for r in results if r.verify_failures is not None]
    if verified:
        data["verify_failures"] = sum(verified)
    if any(r.routed is not None for r in results):
        data["if_quality_held"] = {"turns_by_tier": total.routed_turns, "bill_usd": round(total.routed_usd, 6)}
    return {"sessions": [session_json(r) for r in results], "total": data, **meta}


def _by_size(counts: dict[str, int]) -> dict[str, int]:
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def _pct(before: float, after: float) -> str:
    return f"{(before - after) / before:.1%}" if before else "-"


def _name(path: str, width: int) -> str:
    from pathlib import PurePath

    stem = printable(PurePath(path).stem)
    return stem if len(stem) <= width else stem[:width - 1] + "…"


def render(results: list[SessionResult], meta: dict[str, Any]) -> str:
    """The table (one row per session, then the total) and the notes under it."""
    total = totals(results)
    v = total.values
    lines = [f"lynkr replay: {total.sessions} session(s), {int(v['requests']):,} requests, {meta['upstream']}",
             f"{'session':<16} {'agent':<6} {'reqs':>5} {'input tokens':>12} {'saved':>6} "
             f"{'$ direct':>9} {'$ lynkr':>9} {'brk/ll':>6}"]
    for r in results:
        row_flags = f"{r.prefix_breaks}/{r.lossless_failures}"
        lines.append(f"{_name(r.path, 16):<16} {r.agent:<6} {r.requests:>5,} {r.input_tokens_direct:>12,} "
                     f"{_pct(r.input_tokens_direct, r.input_tokens_lynkr):>6} {r.bill_direct_usd:>9.2f} "
                     f"{r.bill_lynkr_usd:>9.2f} {row_flags:>6}")
    flags = f"{int(v['prefix_breaks'])}/{int(v['lossless_failures'])}"
    lines.append(f"{'total':<16} {'':<6} {int(v['requests']):>5,} {int(v['input_tokens_direct']):>12,} "
                 f"{_pct(v['input_tokens_direct'], v['input_tokens_lynkr']):>6} {v['bill_direct_usd']:>9.2f} "
                 f"{v['bill_lynkr_usd']:>9.2f} {flags:>6}")
    lines.append("")
    lines.append(f"input tokens: {int(v['input_tokens_direct']):,} direct, {int(v['input_tokens_lynkr']):,} through "
                 f"lynkr ({_pct(v['input_tokens_direct'], v['input_tokens_lynkr'])} saved, o200k estimate)")
    lines.append(f"input-side bill: ${v['bill_direct_usd']:,.2f} direct, ${v['bill_lynkr_usd']:,.2f} through lynkr "
                 f"({_pct(v['bill_direct_usd'], v['bill_lynkr_usd'])} saved; list prices {meta['prices_as_of']}, "
                 f"cache writes and reads priced as such)")
    if v["input_tokens_recorded"]:
        lines.append(f"the providers billed {int(v['input_tokens_recorded']):,} input tokens for the requests of the "
                     f"sessions that record usage: {v['input_tokens_recorded'] / max(total.recorded_rebuilt, 1):.2f}x the "
                     f"rebuild's count (tokenizers, and prompt parts a transcript does not hold)")
    whole = sum(total.by_kind.values())
    tool_results = sum(n for kind, n in total.by_kind.items() if kind.startswith("tool result"))
    if whole:
        parts = ", ".join(f"{kind.removeprefix('tool result: ')} {n / whole:.0%}"
                          for kind, n in _by_size(total.by_kind).items() if kind.startswith("tool result") and n / whole >= 0.005)
        lines.append(f"input is {tool_results / whole:.0%} tool results ({parts})")
    stages = ", ".join(f"{name} {saved:,}" for name, saved in sorted(total.by_stage.items())) or "none"
    lines.append(f"tokens saved by stage: {stages}")
    lines.append(f"prefix breaks caused by lynkr: {int(v['prefix_breaks'])}; lossless-check failures: "
                 f"{int(v['lossless_failures'])} (brk/ll column)")
    verified = [r.verify_failures for r in results if r.verify_failures is not None]
    if verified:
        lines.append(f"--verify: reversible rewrites undone over every request and compared: {sum(verified)} "
                     f"request(s) differ")
    if any(r.routed is not None for r in results):
        turns = ", ".join(f"{tier} {n}" for tier, n in sorted(total.routed_turns.items())) or "none"
        lines.append(f"routing, if quality held ({meta.get('profile') or 'configured tiers'}): user turns {turns}; "
                     f"input-side bill ${total.routed_usd:,.2f} instead of ${v['bill_lynkr_usd']:,.2f}")
    notes = sorted({note for r in results for note in r.approximations})
    for note in notes:
        lines.append(f"approximated: {printable(note)}")
    unpriced = sum(r.unpriced_requests for r in results)
    if unpriced:
        lines.append(f"{unpriced} request(s) name a model with no list price: counted in tokens, $0 in the bill")
    return "\n".join(lines) + "\n"
