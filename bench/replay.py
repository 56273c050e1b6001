"""How fast ``lynkr replay`` goes: requests per second over a set of transcripts.

    flock /tmp/lynkr-bench.lock python bench/replay.py /work/data/sessions/public [--quick] [--record]

Times the whole replay (reading the transcripts, rebuilding the requests, the pipeline, counting and
billing both sides) after the tokenizer is built and the price catalogue loaded (once per process,
0.4-0.6 s together, as the proxy does at start), best of 3 runs, each in a fresh process (the process-wide caches of token counts and of the
agents' tool definitions must not carry over from one run to the next); then the same with every stage off, to show the pipeline's share, and with two
worker processes. CPU time is given too: on a machine shared with other jobs the wall time says more
about the neighbours than about replay, while requests per CPU-second is what one idle core does. Target
(issue 17): at least 1,000 requests per second. ``--record`` appends the result to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children (the worker processes)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def run_once(paths: list[Path], no_optimize: bool, jobs: int = 1) -> tuple[float, float, int, int]:
    """(wall seconds, CPU seconds, requests, input tokens) of one replay."""
    from lynkr_cli.replay.run import ReplayOptions, replay_all
    from lynkr_cli.config import load_settings

    settings = load_settings(env={})
    options = ReplayOptions(paths, no_optimize=no_optimize, jobs=jobs)
    t0, c0 = time.perf_counter(), cpu_seconds()
    results = replay_all(options, settings, warn=lambda _: None)
    elapsed, cpu = time.perf_counter() - t0, cpu_seconds() - c0
    return elapsed, cpu, sum(r.requests for r in results), sum(r.input_tokens_direct for r in results)


def fresh_run(paths: list[Path], no_optimize: bool, jobs: int) -> tuple[float, float, int, int]:
    """``run_once`` in a new Python process (tokenizer built there first, outside the timing)."""
    flags = ["--one", f"{int(no_optimize)},{jobs}"]
    done = subprocess.run([sys.executable, str(Path(__file__).resolve()), *flags, *map(str, paths)],
                          capture_output=True, text=True, check=True, cwd=ROOT)
    elapsed, cpu, requests, input_tokens = json.loads(done.stdout.splitlines()[-1])
    return elapsed, cpu, requests, input_tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", type=Path)
    parser.add_argument("--quick", action="store_true", help="one run instead of three")
    parser.add_argument("--record", action="store_true", help="append the result to bench/RESULTS.md")
    parser.add_argument("--one", metavar="NO_OPTIMIZE,JOBS", help=argparse.SUPPRESS)  # one run, in this process
    args = parser.parse_args()
    if args.one:
        from lynkr_cli import tokens
        from lynkr_cli.ledger.pricing import DEFAULT_BOOK

        tokens.encoding()
        DEFAULT_BOOK.warm()
        import toon_format  # noqa: F401

        off, jobs = (int(x) for x in args.one.split(","))
        print(json.dumps(run_once(args.paths, bool(off), jobs)))
        return

    runs = 1 if args.quick else 3
    rows = []
    variants = (("replay (default stages), 1 process", False, 1), ("replay, every stage off, 1 process", True, 1),
                ("replay (default stages), 2 processes", False, 2))
    for label, off, jobs in variants:
        best = min((fresh_run(args.paths, off, jobs) for _ in range(runs)), key=lambda r: r[0])
        elapsed, cpu, requests, input_tokens = best
        rows.append((label, requests, input_tokens, elapsed, requests / elapsed, cpu, requests / cpu))
    lines = [f"| {label} | {requests:,} | {tokens_:,} | {elapsed:.2f} s | {rate:,.0f} | {cpu:.2f} s | {per_cpu:,.0f} |"
             for label, requests, tokens_, elapsed, rate, cpu, per_cpu in rows]
    table = ("| run | requests | input tokens | wall time (best of %d) | requests/s | CPU time | requests per CPU-second |"
             "\n|---|---:|---:|---:|---:|---:|---:|\n" % runs)
    table += "\n".join(lines)
    print(table)
    if args.record:
        commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True).stdout.strip()
        load = Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else ["?"]
        with (ROOT / "bench" / "RESULTS.md").open("a") as out:
            out.write(f"\n### lynkr replay throughput ({datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC)\n\n"
                      f"`python bench/replay.py {' '.join(map(str, args.paths))}`, commit {commit}, 2-core VM, "
                      f"load average {' '.join(load)}, {os.cpu_count()} CPUs.\n\n{table}\n")


if __name__ == "__main__":
    main()
