"""Cost of retention (``lynkr_cli/housekeeping.py``): one sweep pass, and what a due sweep adds to a run.

1. ``sweep()`` in-process over a ``pipeline/`` of N files: all recent (a full scan that deletes nothing,
   the worst case for time) and all expired (deletion bounded at 10000 per pass).
2. ``lynkr run --report none -- sleep 3`` on a home of 100k recent files, with the daily sweep due
   (stamp removed before each run) paired with not due (stamp fresh), alternating: the wall time a due
   sweep adds to a session. The sweep runs on a daemon thread, so this should be noise.

    python bench/housekeeping.py [--runs 8] [--files 100000] [--lynkr PATH]
"""

from __future__ import annotations

import argparse
import hashlib
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


if __name__ == "__main__":
    main()
