"""Benchmark: the optimization pipeline on Lynkr's seed scenarios and on real Claude Code / Codex bodies.

For each request: o200k tokens of the whole request before and after, tokens saved per stage, the
pipeline's time (a fresh session: the first time this request is seen; and warm: the same request
again in the same session, which is what every later turn pays for its history), and whether any
information was lost (checked, not assumed: every rewritten tool result is decoded and compared with
the original; a pruned tool is reported as withheld).

    python bench/pipeline.py [--quick] [--prune]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from lynkr_cli import tokens  # noqa: E402
from lynkr_cli.canonical import ModelRequest  # noqa: E402
from lynkr_cli.pipeline.build import build_pipeline  # noqa: E402
from lynkr_cli.pipeline.compress import parse_json  # noqa: E402
from lynkr_cli.pipeline.config import PipelineConfig  # noqa: E402
from lynkr_cli.pipeline.patch import keep_client_format  # noqa: E402
from lynkr_cli.pipeline.terminal import render  # noqa: E402
from lynkr_cli.pipeline.textclean import REPEAT_MARK, strip_ansi, strip_trailing_blanks  # noqa: E402

SCENARIOS = ["S1", "T1", "T2", "H1", "L1", "L2", "SC1", "SC2", "R1"]
# Lynkr's published figures (seeds/003: README benchmark table; seeds/000/001 for T1/T2 averages).
LYNKR = {"T1": "47% (1,042 -> 547)", "T2": "60% (1,043 -> 412)", "L2": "87.6% (3,458 -> 427)"}
LYNKR_LOST = {"T1": "tools withheld per request (stalled sessions, removed)",
              "T2": "tools withheld per request (stalled sessions, removed)",
              "L2": "yes: values replaced by their types"}


def requests() -> list[tuple[str, str, bytes]]:
    out = [(name, "anthropic", (REPO / "bench" / "scenarios" / f"{name}.json").read_bytes()) for name in SCENARIOS]
    for path in sorted((REPO / "tests" / "data" / "claude_session").glob("*.json")):
        out.append((f"claude-code turn {int(path.stem)}", "anthropic", path.read_bytes()))
    for path in sorted((REPO / "tests" / "data" / "codex_session").glob("*.json")):
        out.append((f"codex turn {int(path.stem)}", "openai-responses", path.read_bytes()))
    return out


def decode(fmt: str, raw: bytes) -> ModelRequest:
    from lynkr_cli.formats import codec

    return codec(fmt).decode_request(json.loads(raw), raw)


def _results(request: ModelRequest) -> dict[str, Any]:
    found = {}
    for message in request.messages:
        content = message.get("content")
        if isinstance(content, list):
            for block in content:
                if isinstance(block, dict) and block.get("type") == "tool_result":
                    value = block.get("content")
                    if isinstance(value, list):
                        value = "\n".join(b.get("text", "") for b in value if b.get("type") == "text")
                    found[block.get("tool_use_id")] = value
    return found


def _expand_repeats(text: str) -> str:
    prefix, suffix = REPEAT_MARK.split("{n}")
    lines: list[str] = []
    for line in text.split("\n"):
        if line.startswith(prefix) and line.endswith(suffix) and lines:
            lines.extend([lines[-1]] * int(line[len(prefix):-len(suffix)]))
        else:
            lines.append(line)
    return "\n".join(lines)


def _same_data(original: str, rewritten: str) -> bool:
    import toon_format

    for start in [0] + [i + 1 for i, ch in enumerate(original[:600]) if ch == "\n"]:
        value = parse_json(original[start:])
        if value is None or not rewritten.startswith(original[:start]):
            continue
        body = rewritten[start:]
        back = parse_json(body)
        if back is None:
            try:
                back = toon_format.decode(body)
            except Exception:
                return False
        return json.dumps(back, sort_keys=True) == json.dumps(value, sort_keys=True)
    return False


def information_lost(before: ModelRequest, after: ModelRequest) -> str:
    """'no', or what was lost: with the references, groupings and padding of the rewriting stages
    expanded back (``pipeline/expand.py``), each rewritten result must decode to the original data or
    be the original text (as a terminal shows it) minus ANSI codes and trailing blanks with repeats
    expanded."""
    from lynkr_cli.pipeline.expand import expand_messages

    expanded = ModelRequest({**after.body, "messages": expand_messages(after.messages)})
    old, new = _results(before), _results(expanded)
    for key, text in old.items():
        rewritten = new.get(key)
        if rewritten == text:
            continue
        if not isinstance(text, str) or not isinstance(rewritten, str):
            return f"yes ({key}: non-text result changed)"
        if _same_data(text, rewritten):
            continue
        shown = render(text) or text
        if _expand_repeats(rewritten) in (strip_trailing_blanks(strip_ansi(text)), strip_trailing_blanks(strip_ansi(shown))):
            continue
        return f"yes ({key})"
    withheld = {t.get("name") for t in before.tools} - {t.get("name") for t in after.tools}
    return f"no data; {len(withheld)} tools withheld" if withheld else "no"


def measure(name: str, fmt: str, raw: bytes, config: PipelineConfig, runs: int) -> dict[str, Any]:
    request = decode(fmt, raw)
    fresh_ms, warm_ms = [], []
    for _ in range(runs):
        pipeline = build_pipeline(config)
        state = pipeline.session("bench")
        t0 = time.perf_counter()
        out, reports = pipeline.run(request, state)
        out = keep_client_format(request, out)
        fresh_ms.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        keep_client_format(request, pipeline.run(request, state)[0])
        warm_ms.append((time.perf_counter() - t0) * 1000)
    before = tokens.count_request(request.body)
    after = tokens.count_request(out.body)
    stages = {r.stage: r.saved for r in reports if r.changed}
    reps = sorted({i["representation"] for r in reports for i in r.items if i.get("representation") not in (None, "as-is")})
    return {
        "name": name, "before": before, "after": after, "stages": stages, "reps": reps,
        "fresh_ms": statistics.median(fresh_ms), "warm_ms": statistics.median(warm_ms),
        "lost": information_lost(request, out),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 runs per request instead of 15")
    parser.add_argument("--prune", action="store_true", help="also turn on the prune stage (off by default)")
    args = parser.parse_args()
    config = PipelineConfig(stages={"compress": True, "prune": args.prune})
    tokens.encoding()  # built once per process (the proxy warms it at start)
    import toon_format  # noqa: F401

    runs = 3 if args.quick else 15
    rows = [measure(name, fmt, raw, config, runs) for name, fmt, raw in requests()]
    print(f"# python bench/pipeline.py{' --quick' if args.quick else ''}{' --prune' if args.prune else ''}  "
          f"({time.strftime('%Y-%m-%d')}, Python {platform.python_version()}, {platform.machine()})")
    print("| request | tokens before | after | saved | by stage | tool results became | pipeline ms (first / warm) "
          "| information lost? | Lynkr published | Lynkr lost? |")
    print("|---|---:|---:|---:|---|---|---:|---|---|---|")
    for r in rows:
        saved = r["before"] - r["after"]
        pct = f"{saved / r['before']:.1%}" if r["before"] else "-"
        stages = ", ".join(f"{k} {v:,}" for k, v in r["stages"].items()) or "-"
        short = r["name"]
        print(f"| {short} | {r['before']:,} | {r['after']:,} | {pct} | {stages} | {', '.join(r['reps']) or '-'} "
              f"| {r['fresh_ms']:.2f} / {r['warm_ms']:.2f} | {r['lost']} | {LYNKR.get(short, '')} "
              f"| {LYNKR_LOST.get(short, '')} |")


if __name__ == "__main__":
    main()
