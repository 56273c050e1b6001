"""Cost of retention (``lynkr_cli/housekeeping.py``): one sweep pass, and what a due sweep adds to a run.

1. ``sweep()`` in-process over a ``pipeline/`` of N files: all recent (a full scan that deletes nothing,
   the worst case for time) and all expired (deletion bounded at 10000 per pass).
2. ``lynkr run --report none -- sleep 3`` on a home of 100k recent files, with the daily sweep due
   (stamp removed before each run) paired with not due (stamp fresh), alternating: the wall time a due
   sweep adds to a session. The sweep runs on a daemon thread, so this should be noise.
3. Latency of requests through the proxy while that sweep runs: the wrapped command sends small
   non-streamed Messages requests back to back for 2.5 s to the instant fake upstream
   (``instant_upstream.py``), sweep due vs not due; the sweep shares the interpreter with the proxy.

    python bench/housekeeping.py [--runs 8] [--files 100000] [--lynkr PATH]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lynkr_cli.housekeeping import DAY, STAMP, sweep  # noqa: E402


def populate(directory: Path, count: int, age_days: float) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    when = time.time() - age_days * DAY
    for i in range(count):
        path = directory / f"{hashlib.sha256(str(i).encode()).hexdigest()[:32]}.json"
        path.write_text("{}")
        os.utime(path, (when, when))


def sweep_ms(home: Path) -> tuple[float, int, bool]:
    (home / STAMP).unlink(missing_ok=True)
    start = time.perf_counter()
    result = sweep(home, 30)
    return (time.perf_counter() - start) * 1000, result.deleted, result.complete


def wall(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, check=True)
    return (time.perf_counter() - start) * 1000


CLIENT = """
import http.client, json, os, sys, time
from urllib.parse import urlsplit
url = urlsplit(os.environ["ANTHROPIC_BASE_URL"])
body = json.dumps({"model": "claude-sonnet-4-5", "max_tokens": 5,
                   "messages": [{"role": "user", "content": "hi"}]})
headers = {"content-type": "application/json", "x-api-key": "sk-bench", "anthropic-version": "2023-06-01"}
conn = http.client.HTTPConnection(url.hostname, url.port)
out, end = [], None
while end is None or time.perf_counter() < end:
    start = time.perf_counter()
    conn.request("POST", url.path + "/v1/messages", body, headers)
    response = conn.getresponse(); response.read()
    assert response.status == 200, response.status
    out.append((time.perf_counter() - start) * 1000)
    end = end or time.perf_counter() + 2.5  # from the first answer: the proxy is up, the sweep started
json.dump(out, open(sys.argv[1], "w"))
"""


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def latency(args: argparse.Namespace, home: Path) -> None:
    bench = Path(__file__).resolve().parent
    upstream = subprocess.Popen([sys.executable, str(bench / "instant_upstream.py")], stdout=subprocess.PIPE, text=True)
    try:
        assert upstream.stdout is not None
        port = int(upstream.stdout.readline().strip())
        env = {**os.environ, "LYNKR_HOME": str(home), "ANTHROPIC_BASE_URL": f"http://127.0.0.1:{port}"}
        samples: dict[str, list[float]] = {"sweep due": [], "not due": []}
        out = home / "latency.json"
        for _ in range(args.runs):
            for label in samples:
                if label == "sweep due":
                    (home / STAMP).unlink(missing_ok=True)
                subprocess.run([args.lynkr, "run", "--report", "none", "--", sys.executable, "-c", CLIENT, str(out)],
                               env=env, check=True, stdin=subprocess.DEVNULL)
                samples[label] += json.loads(out.read_text())[1:]  # the first includes the proxy's start
        print(f"\n{'request latency ms, first 2.5 s':40} {'requests':>9} {'p50':>8} {'p90':>8} {'p99':>8} {'max':>8}")
        for label, values in samples.items():
            print(f"{label:40} {len(values):9} {pct(values, 0.5):8.2f} {pct(values, 0.9):8.2f} "
                  f"{pct(values, 0.99):8.2f} {max(values):8.2f}")
    finally:
        upstream.terminate()
        upstream.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--lynkr", default=shutil.which("lynkr") or os.path.join(os.path.dirname(sys.executable), "lynkr"))
    args = parser.parse_args()
    print(f"{platform.node()} · {os.cpu_count()} cores · Python {platform.python_version()}")

    print(f"\n{'sweep() pass over pipeline/':40} {'ms':>9} {'deleted':>8} {'complete':>9}")
    for count in (1_000, 10_000, args.files):
        with tempfile.TemporaryDirectory() as tmp:
            home = Path(tmp)
            populate(home / "pipeline", count, 1)
            ms, deleted, complete = sweep_ms(home)
            print(f"{f'{count} recent files (full scan)':40} {ms:9.1f} {deleted:8} {str(complete):>9}")
            shutil.rmtree(home / "pipeline")
            populate(home / "pipeline", count, 60)
            passes, total = 0, 0.0
            while True:
                ms, deleted, complete = sweep_ms(home)
                passes, total = passes + 1, total + ms
                if passes == 1:
                    print(f"{f'{count} expired files, first pass':40} {ms:9.1f} {deleted:8} {str(complete):>9}")
                if complete:
                    break
            print(f"{f'  all cleared in {passes} pass(es)':40} {total:9.1f}")

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        populate(home / "pipeline", args.files, 1)
        env = {**os.environ, "LYNKR_HOME": str(home)}
        command = [args.lynkr, "run", "--report", "none", "--", "sleep", "3"]
        wall(command, env)  # warm-up; also creates the ledger
        due, fresh = [], []
        for _ in range(args.runs):
            (home / STAMP).unlink(missing_ok=True)
            due.append(wall(command, env))
            assert (home / STAMP).exists(), "the due sweep did not complete during the run"
            fresh.append(wall(command, env))
        added = [a - b for a, b in zip(due, fresh)]
        print(f"\n{f'lynkr run -- sleep 3, {args.files} files':40} {'min':>9} {'median':>8} {'max':>9}")
        print(f"{'wall ms, sweep due':40} {min(due):9.1f} {statistics.median(due):8.1f} {max(due):9.1f}")
        print(f"{'wall ms, not due':40} {min(fresh):9.1f} {statistics.median(fresh):8.1f} {max(fresh):9.1f}")
        print(f"{'added by the due sweep, ms':40} {min(added):9.1f} {statistics.median(added):8.1f} {max(added):9.1f}")
        latency(args, home)


if __name__ == "__main__":
    main()
