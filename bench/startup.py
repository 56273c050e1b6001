"""Start-up cost of ``lynkr run``: what wrapping a command adds to the command alone.

Runs ``lynkr run --report none -- true`` (and the default short report) paired with plain ``true``,
alternating A B A B so drift of the machine's speed hits both, and prints min/median/max of the
added wall time. Target: median under 300 ms added.

    python bench/startup.py [--runs 30] [--lynkr PATH]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time


def wall(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def paired(a: list[str], b: list[str], runs: int, env: dict[str, str]) -> list[float]:
    wall(a, env), wall(b, env)  # warm-up: page cache, .pyc files
    return [(wall(a, env) - wall(b, env)) * 1000 for _ in range(runs)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--lynkr", default=shutil.which("lynkr") or os.path.join(os.path.dirname(sys.executable), "lynkr"))
    args = parser.parse_args()
    true = shutil.which("true") or "/bin/true"
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "LYNKR_HOME": home}
        cases = {
            "lynkr --version": [args.lynkr, "--version"],
            "lynkr run --report none -- true": [args.lynkr, "run", "--report", "none", "--", true],
            "lynkr run -- true (short report)": [args.lynkr, "run", "--", true],
        }
        print(f"{platform.node()} · {os.cpu_count()} cores · Python {platform.python_version()} · {args.runs} paired runs")
        print(f"{'command':36} {'added ms: min':>14} {'median':>8} {'max':>8}")
        for label, command in cases.items():
            added = paired(command, [true], args.runs, env)
            print(f"{label:36} {min(added):14.1f} {statistics.median(added):8.1f} {max(added):8.1f}")


if __name__ == "__main__":
    main()
