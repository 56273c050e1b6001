"""Routing accuracy on the labelled set: how often the scorer picks the labelled tier, and where not.

    python bench/routing.py            # table + confusion matrix
    python bench/routing.py --quick    # same (the set is small); kept for the common bench interface
    python bench/routing.py --record   # also append the result to bench/RESULTS.md

The set (``bench/routing_set.jsonl``) was written by hand from real coding-agent work and includes
Lynkr's own benchmark prompts (``benchmark-tier-routing.js``). The cut points in ``score.py`` were set
on this same set, so the accuracy is an in-sample figure: read it as "the scorer agrees with these
labels", not as a measured generalisation.
"""

from __future__ import annotations

import json
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lynkr_cli.routing.router import Router  # noqa: E402
from lynkr_cli.routing.tiers import Tier  # noqa: E402

SET = ROOT / "bench" / "routing_set.jsonl"
HOLDOUT = ROOT / "bench" / "routing_holdout.jsonl"  # written after the cut points were set
HOLDOUT2 = ROOT / "bench" / "routing_holdout2.jsonl"  # written before the last rule change; never tuned on


def load(path: Path = SET) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def body_of(row: dict) -> dict:
    messages = row.get("messages") or [{"role": "user", "content": row["prompt"]}]
    return {"model": "claude-sonnet-4-5", "max_tokens": 4096, "messages": messages}


def evaluate(path: Path = SET) -> tuple[list[list[int]], list[tuple[dict, Tier, float]], float]:
    router = Router()
    matrix = [[0] * 4 for _ in Tier]
    misses = []
    rows = load(path)
    for row in rows:  # warm-up: regular expressions compile on first use
        router.classify(body_of(row))
    t0 = time.perf_counter()
    for row in rows:
        expected = Tier.parse(row["tier"])
        got = router.classify(body_of(row))
        matrix[expected - 1][got.tier - 1] += 1
        if got.tier != expected:
            misses.append((row, got.tier, got.score))
    per_request_us = (time.perf_counter() - t0) / len(rows) * 1e6
    return matrix, misses, per_request_us


def table(matrix: list[list[int]], per_request_us: float) -> str:
    total = sum(map(sum, matrix))
    correct = sum(matrix[i][i] for i in range(4))
    hard_to_simple = matrix[Tier.COMPLEX - 1][0] + matrix[Tier.REASONING - 1][0]
    lines = [f"accuracy {correct}/{total} = {correct / total:.1%}; COMPLEX/REASONING routed to SIMPLE: {hard_to_simple}",
             f"classification time {per_request_us:.0f} µs per prompt (rules + score, no I/O)", "",
             "| labelled \\ routed | " + " | ".join(t.name for t in Tier) + " | recall |",
             "|---|" + "---|" * 5]
    for t in Tier:
        row = matrix[t - 1]
        recall = row[t - 1] / sum(row) if sum(row) else 0.0
        lines.append(f"| {t.name} | " + " | ".join(str(n) for n in row) + f" | {recall:.0%} |")
    return "\n".join(lines)


SESSION = ROOT / "tests" / "data" / "claude_session"  # a real Claude Code -p session, request by request


def decision_times(rounds: int) -> str:
    """Microseconds per routing decision on the captured Claude Code session (tiers configured)."""
    import statistics

    from lynkr_cli.canonical import ModelRequest, canonical_json
    from lynkr_cli.routing.tiers import TierMap

    bodies = [json.loads(p.read_text()) for p in sorted(SESSION.glob("*.json"))]
    requests = [ModelRequest(b, raw=canonical_json(b)) for b in bodies]
    tiers = TierMap.from_strings({"simple": "ollama:qwen2.5-coder", "complex": "anthropic:claude-sonnet-4-5"})
    times: dict[int, list[float]] = {i: [] for i in range(len(requests))}
    for _ in range(rounds):
        router = Router(tiers)  # a fresh session each round: request 1 is a turn start
        for i, request in enumerate(requests):
            t0 = time.perf_counter()
            router.route(request, "bench")
            times[i].append((time.perf_counter() - t0) * 1e6)
    lines = ["| request | body bytes | kind | median µs |", "|---|---|---|---|"]
    for i, request in enumerate(requests):
        kind = "tool loop (kept)" if i else "turn start (scored)"
        lines.append(f"| {i + 1} | {len(request.raw or b''):,} | {kind} | {statistics.median(times[i]):.0f} |")
    return "decision time on the captured Claude Code session (tests/data/claude_session):\n\n" + "\n".join(lines)


def main() -> None:
    report = []
    for path, label in ((SET, "labelled set (in-sample: the cut points were set on it)"),
                        (HOLDOUT, "holdout 1 (written after the cut points; its misses then motivated the "
                                  "two-markers-plus-risk REASONING rule, so it is no longer unseen)"),
                        (HOLDOUT2, "holdout 2 (written before that rule, never tuned on; it scored 20/24 before the rule)")):
        matrix, misses, us = evaluate(path)
        out = f"{label}: {path.name}\n\n" + table(matrix, us)
        if misses:
            out += "\n\nmisses:\n" + "\n".join(
                f"- {row['tier'].upper()} → {got.name} ({score:g}): {(row.get('prompt') or row['messages'][-1]['content'])[:90]}"
                for row, got, score in misses)
        report.append(out)
    report.append(decision_times(20 if "--quick" in sys.argv else 200))
    text = "\n\n".join(report)
    print(text)
    if "--record" in sys.argv:
        record(f"## Routing\n\n`python bench/routing.py --record`, {time.strftime('%Y-%m-%d')}, "
               f"{platform.machine()}, 2 cores shared with other jobs (timings are noisy), Python {platform.python_version()}\n\n{text}\n")


def record(section: str) -> None:
    """Replace this benchmark's own ``## Routing`` section of RESULTS.md (others' sections untouched)."""
    import re

    path = ROOT / "bench" / "RESULTS.md"
    old = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    pattern = re.compile(r"^## Routing\n.*?(?=^## |\Z)", re.S | re.M)
    new = pattern.sub(lambda _: section + "\n", old, count=1) if pattern.search(old) else old.rstrip() + "\n\n" + section
    path.write_text(new, encoding="utf-8")


if __name__ == "__main__":
    main()
