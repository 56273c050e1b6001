"""Time of the status line command Claude Code runs after every message (target: well under 100 ms).

Runs, alternating (so the machine's drift hits all of them), each with Claude Code's status-line JSON
on stdin and a state file as a live ``lynkr run`` keeps it:

- ``python -c pass``: the interpreter's own start, the floor of any Python command;
- ``python -m lynkr_cli.statusline --session ID``: the command ``lynkr run claude`` installs;
- ``lynkr statusline --session ID``: the documented command (console script, for ``lynkr serve`` users);
- ``lynkr statusline`` with no session: the ``lynkr serve`` lookup of the Claude Code session in the
  ledger (a ledger of ``--sessions`` sessions);
- the installed command wrapping a user's own status line (``--then 'echo mine'``).

    python bench/statusline.py [--runs 40] [--sessions 2000] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

STATUS_JSON = json.dumps({"hook_event_name": "Status", "session_id": "claude-session-42", "cwd": "/tmp",
                          "model": {"id": "claude-opus-5-5", "display_name": "Opus 5.5"},
                          "workspace": {"current_dir": "/tmp", "project_dir": "/tmp"}, "version": "2.1.197"})


def seed(home: Path, sessions: int) -> str:
    """A ledger of ``sessions`` sessions (the last a serve client's), and a state file for one."""
    from lynkr_cli.ledger import Ledger, SessionRecord
    from lynkr_cli.ledger.records import RequestRecord
    from lynkr_cli.statusline.board import StatusBoard

    ledger = Ledger(home / "ledger.sqlite3")
    now = time.time()
    for i in range(sessions):
        argv = ["serve", "client=127.0.0.1"] + (["client-session=claude-session-42"] if i == sessions - 1 else [])
        ledger.start_session(SessionRecord(id=f"s{i:06d}", agent="claude", argv=argv, cwd="/w",
                                           started_at=now - sessions + i, pid=1, lynkr_version="b"))
    ledger.flush()
    ledger.close()
    board = StatusBoard(str(home))
    for session in ("bench-session", f"s{sessions - 1:06d}"):
        board.begin(session)
        for _ in range(50):
            board.observe(RequestRecord(session_id=session, started_at=now, route="/v1/messages",
                                        model_requested="claude-opus-5-5", model_used="claude-opus-5-5", status=200,
                                        input_tokens=1000, output_tokens=100, cost_usd=0.01,
                                        details={"route": {"tier": "COMPLEX", "routed": True}}))
    board.flush()
    return "bench-session"


def timed(argv: list[str], env: dict[str, str], shell: bool = False) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv if not shell else " ".join(argv), input=STATUS_JSON.encode(), capture_output=True,
                          env=env, shell=shell)
    elapsed = (time.perf_counter() - start) * 1000
    if done.returncode != 0 or (b"lynkr" not in done.stdout and argv[1:3] != ["-c", "pass"]):
        raise SystemExit(f"{argv} failed: {done.stderr.decode()[-500:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--sessions", type=int, default=2000)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    runs = 5 if args.quick else args.runs
    home = Path(tempfile.mkdtemp(prefix="lynkr-statusline-bench-"))
    try:
        session = seed(home, 50 if args.quick else args.sessions)
        env = {"PATH": os.environ["PATH"], "LYNKR_HOME": str(home), "HOME": str(home),
               "PYTHONPATH": str(REPO)}
        lynkr = shutil.which("lynkr", path=str(Path(sys.executable).parent)) or "lynkr"
        cases = {
            "python -c pass (floor)": [sys.executable, "-c", "pass"],
            "python -m lynkr_cli.statusline --session ID (installed by lynkr run claude)":
                [sys.executable, "-m", "lynkr_cli.statusline", "--session", session],
            "lynkr statusline --session ID": [lynkr, "statusline", "--session", session],
            f"lynkr statusline (serve: session found in a ledger of {args.sessions if not args.quick else 50})":
                [lynkr, "statusline"],
            "… --then 'echo mine' (a user's own status line first)":
                [sys.executable, "-m", "lynkr_cli.statusline", "--session", session, "--then", "echo mine"],
        }
        times: dict[str, list[float]] = {name: [] for name in cases}
        for argv in cases.values():  # warm the page cache and .pyc files
            timed(argv, env)
        for _ in range(runs):
            for name, argv in cases.items():
                times[name].append(timed(argv, env))
        print("| command | min | median | p90 | max |\n|---|---:|---:|---:|---:|")
        for name, values in times.items():
            values.sort()
            p90 = values[min(len(values) - 1, int(len(values) * 0.9))]
            print(f"| `{name}` | {values[0]:.1f} ms | {statistics.median(values):.1f} ms | {p90:.1f} ms "
                  f"| {values[-1]:.1f} ms |")
    finally:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
