"""Benchmark: what each pipeline stage costs per request (p50 and p95, milliseconds).

Two workloads, in the same run:

- the 85 KB body the pinned Claude Code sent (bench/data/claude_code_request.json): the first time
  a proxy sees it (a fresh pipeline) and again in the same session (what every later turn pays for
  the part of the conversation it has already seen);
- real sessions replayed turn by turn through one pipeline (the recorded ones in bench/sessions/recorded,
  plus any transcripts or folders given as arguments, e.g. /work/data/sessions/public): every turn
  resends the whole conversation, so this is where a stage that rescanned the history would show.

Each stage's time is the runner's own measurement (``StageReport.elapsed_ms``). Run under the bench
lock and record the load average with the figures (bench/RESULTS.md).

    flock /tmp/lynkr-bench.lock python bench/stages.py [--quick] [TRANSCRIPT_OR_DIR ...]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from lynkr_cli import tokens  # noqa: E402
from lynkr_cli.canonical import ModelRequest  # noqa: E402
from lynkr_cli.pipeline.build import build_pipeline  # noqa: E402

BODY = REPO / "bench" / "data" / "claude_code_request.json"
RECORDED = REPO / "bench" / "sessions" / "recorded"


def percentiles(values: list[float]) -> str:
    if not values:
        return "-"
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return f"{statistics.median(ordered):.3f} / {p95:.3f}"


def body_times(runs: int) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    raw = BODY.read_bytes()
    fresh: dict[str, list[float]] = {}
    warm: dict[str, list[float]] = {}
    for _ in range(runs):
        pipeline = build_pipeline()
        state = pipeline.session("bench")
        for times in (fresh, warm):
            request = ModelRequest(json.loads(raw), raw=raw)  # a new parse per request, as the proxy does
            for report in pipeline.run(request, state)[1]:
                times.setdefault(report.stage, []).append(report.elapsed_ms)
    return fresh, warm


def session_times(paths: list[Path]) -> tuple[dict[str, list[float]], int, int]:
    from lynkr_cli.formats import codec
    from lynkr_cli.replay.load import load_session
    from lynkr_cli.replay.transcripts import find_transcripts

    times: dict[str, list[float]] = {}
    sessions = requests = 0
    for path in find_transcripts(paths):
        session = load_session(path)
        if not session.requests:
            continue
        sessions += 1
        pipeline = build_pipeline()
        state = pipeline.session(session.session_id)
        for rebuilt in session.requests:
            request = codec(rebuilt.inbound).decode_request(rebuilt.payload, b"")
            for report in pipeline.run(request, state)[1]:
                times.setdefault(report.stage, []).append(report.elapsed_ms)
            requests += 1
    return times, sessions, requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 runs of the body instead of 200")
    parser.add_argument("paths", nargs="*", type=Path, help="more transcripts or folders to replay")
    args = parser.parse_args()
    tokens.encoding()  # built once per process (the proxy warms it at start)
    import toon_format  # noqa: F401

    fresh, warm = body_times(20 if args.quick else 200)
    replayed, sessions, requests = session_times([RECORDED, *args.paths])
    print(f"# python bench/stages.py{' --quick' if args.quick else ''} {' '.join(map(str, args.paths))}".rstrip())
    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, Python {platform.python_version()}, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    print(f"| stage | 85 KB body, first sight p50 / p95 ms | same body again p50 / p95 ms | "
          f"{sessions} real sessions, {requests} requests: p50 / p95 ms |")
    print("|---|---:|---:|---:|")
    for stage in fresh:
        print(f"| {stage} | {percentiles(fresh[stage])} | {percentiles(warm[stage])} | {percentiles(replayed.get(stage, []))} |")


if __name__ == "__main__":
    main()
