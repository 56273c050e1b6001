"""Start-up cost of ``lynkr run``: what wrapping a command adds to the command alone.

Two measurements, each a series of paired runs alternating A B A B (so drift of the machine's speed
hits both sides) with min/median/max of the added wall time:

1. ``lynkr run --report none -- true`` (and the default short report) against plain ``true``.
   Target: median under 300 ms added.
2. The first request: ``lynkr run claude -p "say hi"`` (default pipeline, and ``--no-optimize``)
   against ``claude -p "say hi"`` direct, all against the same instant local fake upstream
   (``instant_upstream.py``), so what is left is lynkr's start-up and exit plus any wait of the
   agent's first request on lynkr (imports, app build). The three run interleaved in rounds, each
   round paired with its own direct run. Target: median under 150 ms added. Needs the pinned Claude
   Code (``scripts/install-agents``); skipped with a note when it is missing.

    python bench/startup.py [--runs 30] [--agent-runs 15] [--lynkr PATH] [--claude PATH] [--quick]
                            [--baseline-lynkr PATH]

``--baseline-lynkr`` adds another lynkr (an older install) to the same interleaved rounds, so a change
is compared with what it replaced on the same machine at the same moment.
"""

from __future__ import annotations

import argparse
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

HERE = Path(__file__).resolve().parent
AGENTS_BIN = Path(os.environ.get("LYNKR_AGENTS_DIR", Path.home() / ".cache" / "lynkr" / "agents")) / "node_modules" / ".bin"


def wall(command: list[str], env: dict[str, str], cwd: str | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(command, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def paired(a: list[str], b: list[str], runs: int, env: dict[str, str], cwd: str | None = None) -> list[float]:
    """Added milliseconds of ``a`` over ``b``, one figure per pair; the first pair warms caches."""
    wall(a, env, cwd), wall(b, env, cwd)  # warm-up: page cache, .pyc files
    return [(wall(a, env, cwd) - wall(b, env, cwd)) * 1000 for _ in range(runs)]


def row(label: str, added: list[float]) -> str:
    return f"{label:44} {min(added):10.1f} {statistics.median(added):8.1f} {max(added):8.1f}"


class InstantUpstream:
    """``bench/instant_upstream.py`` in its own process (a fake Anthropic API that answers at once)."""

    def __enter__(self) -> str:
        self.process = subprocess.Popen([sys.executable, str(HERE / "instant_upstream.py")], stdout=subprocess.PIPE,
                                        text=True)
        port = self.process.stdout.readline().strip()  # type: ignore[union-attr]
        return f"http://127.0.0.1:{port}"

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        self.process.wait(10)


def agent_home(root: str) -> dict[str, str]:
    """A HOME where Claude Code has run before (onboarding done), so both sides start the same way."""
    home = Path(root) / "home"
    (home / ".claude").mkdir(parents=True)
    (home / ".claude.json").write_text(json.dumps({"hasCompletedOnboarding": True, "numStartups": 5}))
    return {"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")}


def first_request_cases(lynkr: str, claude: str, upstream: str, root: str) -> tuple[dict[str, list[str]], dict[str, str]]:
    """``claude -p "say hi"`` direct and through lynkr (default pipeline, and ``--no-optimize``)."""
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "TERM", "TMPDIR")}
    env["PATH"] = f"{os.path.dirname(claude)}{os.pathsep}{env.get('PATH', '')}"
    env.update(agent_home(root))
    env.update({"LYNKR_HOME": str(Path(root) / "lynkr"), "LYNKR_CONFIG_HOME": str(Path(root) / "lynkr-config"),
                "ANTHROPIC_BASE_URL": upstream, "ANTHROPIC_API_KEY": "sk-ant-api03-bench-0123456789",
                "CLAUDE_CODE_MAX_RETRIES": "0", "DISABLE_AUTOUPDATER": "1", "DISABLE_TELEMETRY": "1",
                "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1"})
    prompt = ["-p", "say hi"]
    commands = {
        "claude -p direct": [claude, *prompt],
        "lynkr run claude -p (default pipeline)": [lynkr, "run", "--report", "none", "claude", *prompt],
        "lynkr run --no-optimize claude -p": [lynkr, "run", "--report", "none", "--no-optimize", "claude", *prompt],
    }
    return commands, env


def interleaved(commands: dict[str, list[str]], runs: int, env: dict[str, str], cwd: str) -> dict[str, list[float]]:
    """Each round runs every command once (rotating which goes first), so the machine's drift hits all
    of them alike; returns each command's wall times in ms, the first round (warm-up) left out."""
    names = list(commands)
    times: dict[str, list[float]] = {name: [] for name in names}
    for round_ in range(runs + 1):
        order = names[round_ % len(names):] + names[:round_ % len(names)]
        for name in order:
            elapsed = wall(commands[name], env, cwd) * 1000
            if round_:
                times[name].append(elapsed)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--agent-runs", type=int, default=15)
    parser.add_argument("--quick", action="store_true", help="5 pairs each")
    parser.add_argument("--lynkr", default=shutil.which("lynkr") or os.path.join(os.path.dirname(sys.executable), "lynkr"))
    parser.add_argument("--claude", default=str(AGENTS_BIN / "claude"))
    parser.add_argument("--baseline-lynkr", help="another lynkr to compare with, in the same rounds")
    args = parser.parse_args()
    if args.quick:
        args.runs = args.agent_runs = 5
    true = shutil.which("true") or "/bin/true"
    with open("/proc/loadavg") as handle:
        load = handle.read().split()[:3]
    print(f"{platform.node()} · {os.cpu_count()} cores · Python {platform.python_version()} · load {' '.join(load)}"
          f" · {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"{'command (paired against the bare command)':44} {'added ms: min':>10} {'median':>8} {'max':>8}")
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "LYNKR_HOME": home}
        cases = {
            "lynkr --version": [args.lynkr, "--version"],
            "lynkr run --report none -- true": [args.lynkr, "run", "--report", "none", "--", true],
            "lynkr run -- true (short report)": [args.lynkr, "run", "--", true],
        }
        for label, command in cases.items():
            print(row(label, paired(command, [true], args.runs, env)), flush=True)
    if not os.access(args.claude, os.X_OK):
        print(f"(first request: {args.claude} not found; run scripts/install-agents)")
        return
    with tempfile.TemporaryDirectory() as root, InstantUpstream() as upstream:
        commands, env = first_request_cases(args.lynkr, args.claude, upstream, root)
        if args.baseline_lynkr:
            commands["baseline: lynkr run claude -p (default pipeline)"] = [
                args.baseline_lynkr, *commands["lynkr run claude -p (default pipeline)"][1:]]
        times = interleaved(commands, args.agent_runs, env, root)
    direct = times.pop("claude -p direct")
    print(f"{'claude -p direct (wall ms)':44} {min(direct):10.1f} {statistics.median(direct):8.1f} {max(direct):8.1f}")
    for label, measured in times.items():
        print(row(label, [m - d for m, d in zip(measured, direct)]), flush=True)

if __name__ == "__main__":
    main()
