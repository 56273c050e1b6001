"""Does the proxy's memory stay bounded over a working day of requests?

    python bench/soak.py [--requests 6000] [--every 250] [--warmup 1000] [--clients 4] [--record]

One real ``lynkr run`` process (started as ``overhead.py`` starts it: full pipeline, response cache
on as by default, a temporary LYNKR_HOME with a real SQLite ledger) in front of the instant fake
upstream (``instant_upstream.py``), driven by ``--clients`` keep-alive connections with
``--requests`` requests whose bodies vary the way a long day does:

- many agent sessions, each with its own ``x-claude-code-session-id`` header and
  ``metadata.user_id`` (more sessions over the run than any per-session table should keep);
- each session a growing conversation: every turn adds an assistant ``tool_use`` and a user
  ``tool_result`` of a varied size (80 B to ~24 KB of file listings, grep hits, source text, and
  pretty-printed JSON that the compress stage rewrites, so its memo holds real texts);
- new tool lists: some sessions add MCP tools with names of their own;
- streaming and non-streaming requests mixed (about 3 in 4 stream, as Claude Code's main loop does).

The process tree's RSS (``overhead._process_tree_rss_kb``) is sampled every ``--every`` requests;
the table ends with the growth per 1,000 requests after ``--warmup`` (least-squares slope of the
samples), which is what tells a bounded process (≈ 0) from one that leaks.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import os
import random
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

import overhead  # noqa: E402  (the client, the launchers and the RESULTS.md writer)

WORDS = ("config", "server", "handler", "request", "session", "ledger", "cache", "route", "token",
         "stream", "parse", "render", "model", "client", "upstream", "proxy", "pipeline", "state")


class Day:
    """Deterministic request bodies for a long day of agent sessions (seeded, so runs compare)."""

    def __init__(self, base: dict, seed: int, turns: tuple[int, int]) -> None:
        self.base = base
        self.rng = random.Random(seed)
        self.turns = turns
        self.sessions_started = 0

    def _tool_result(self, size: int) -> str:
        rng, lines, n = self.rng, [], 0
        kind = rng.randrange(4)
        if kind == 3:  # pretty-printed JSON (grep hits): the compress stage rewrites it, the memo keeps text
            rows = []
            while n < size:
                rows.append({"file": f"src/{rng.choice(WORDS)}.py", "line": rng.randrange(1, 900),
                             "text": f"def {rng.choice(WORDS)}_{rng.randrange(1000)}(self):"})
                n += 90
            return json.dumps(rows, indent=2) + "\n"
        while n < size:
            a, b = rng.choice(WORDS), rng.choice(WORDS)
            if kind == 0:
                line = f"src/{a}/{b}_{rng.randrange(10_000)}.py"
            elif kind == 1:
                line = f"lynkr_cli/{a}.py:{rng.randrange(1, 900)}:    def {b}_{rng.randrange(100)}(self, {a}):"
            else:
                line = f"    {a}_{rng.randrange(1000)} = {b}({a!r}, {rng.random():.6f})  # {a} {b}"
            lines.append(line)
            n += len(line) + 1
        return "\n".join(lines)

    def session(self):  # type: ignore[no-untyped-def]
        """One agent session: yields (headers, body bytes) for each of its requests."""
        self.sessions_started += 1
        sid = f"{self.rng.getrandbits(64):016x}-{self.sessions_started:05d}"
        body = copy.deepcopy(self.base)
        body["metadata"] = {"user_id": json.dumps({"device_id": "0" * 64, "account_uuid": "", "session_id": sid})}
        if self.rng.random() < 0.4:  # an MCP server of this session's own
            server = f"mcp__proj{self.sessions_started}"
            body["tools"] = body["tools"] + [
                {"name": f"{server}__{w}", "description": f"{w} for project {self.sessions_started}: " + " ".join(
                    self.rng.choice(WORDS) for _ in range(40)),
                 "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}}
                for w in self.rng.sample(WORDS, 3)]
        messages = body["messages"]
        messages[0]["content"][-1]["text"] = f"Task {self.sessions_started}: " + " ".join(
            self.rng.choice(WORDS) for _ in range(12))
        headers = f"x-claude-code-session-id: {sid}\r\n"
        for turn in range(self.rng.randint(*self.turns)):
            if turn:
                tool_id = f"toolu_{self.rng.getrandbits(64):016x}"
                tool = self.rng.choice(("Bash", "Read", "Grep", "Glob"))
                messages.append({"role": "assistant", "content": [
                    {"type": "text", "text": f"Looking at {self.rng.choice(WORDS)}."},
                    {"type": "tool_use", "id": tool_id, "name": tool, "input": {"command": f"ls {turn}"}}]})
                size = int(80 * (300 ** self.rng.random()))  # 80 B .. 24 KB, log-uniform
                messages.append({"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": tool_id, "content": self._tool_result(size)}]})
            body["stream"] = self.rng.random() < 0.75
            yield headers, json.dumps(body, separators=(",", ":")).encode()


async def drive(target: overhead.Target, day: Day, args: argparse.Namespace) -> tuple[list[tuple[int, float]], int]:
    """Send ``args.requests`` requests from ``args.clients`` connections; RSS samples (requests, MB)."""
    host, port, path = target.host_port_path
    samples = [(0, overhead._process_tree_rss_kb(target.pids[0]) / 1024)]
    sent = done = 0
    bytes_sent = 0

    async def client() -> None:
        nonlocal sent, done, bytes_sent
        conn = overhead.Connection(host, port)
        while sent < args.requests:
            for headers, body in day.session():
                if sent >= args.requests:
                    break
                sent += 1
                bytes_sent += len(body)
                await conn.post(path, body, headers)
                done += 1
                if done % args.every == 0:
                    samples.append((done, overhead._process_tree_rss_kb(target.pids[0]) / 1024))
                    print(f"  {done:>6} requests  {samples[-1][1]:7.1f} MB", file=sys.stderr, flush=True)
        conn.close()

    await asyncio.gather(*(client() for _ in range(args.clients)))
    return samples, bytes_sent


def slope_per_1000(points: list[tuple[int, float]]) -> float:
    """Least-squares growth in MB per 1,000 requests."""
    if len(points) < 2:
        return 0.0
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    den = sum((x - mx) ** 2 for x, _ in points)
    return 1000 * sum((x - mx) * (y - my) for x, y in points) / den if den else 0.0


def run(args: argparse.Namespace) -> str:
    base = json.loads(args.body.read_bytes())
    day = Day(base, args.seed, (args.min_turns, args.max_turns))
    with overhead.start_upstream() as direct, overhead.start_lynkr(direct.url, "lynkr full pipeline") as lynkr:
        t0 = time.perf_counter()
        samples, bytes_sent = asyncio.run(drive(lynkr, day, args))
        elapsed = time.perf_counter() - t0
    after = [(x, y) for x, y in samples if x >= args.warmup]
    growth = slope_per_1000(after)
    lines = [f"{args.requests} requests from {args.clients} clients in {elapsed:.0f} s "
             f"({args.requests / elapsed:.0f} req/s), {day.sessions_started} agent sessions, "
             f"{bytes_sent / 1e9:.2f} GB of request bodies (mean {bytes_sent / args.requests / 1e3:.0f} KB); "
             f"RSS of the `lynkr run` process tree", "",
             "| requests | RSS MB |", "|---:|---:|"]
    lines += [f"| {x} | {y:.1f} |" for x, y in samples]
    if after:
        lines += ["", f"growth after {args.warmup} requests of warm-up: {growth:+.2f} MB per 1,000 requests "
                      f"(least squares over {len(after)} samples); {after[0][1]:.1f} → {after[-1][1]:.1f} MB, "
                      f"peak {max(y for _, y in samples):.1f} MB"]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=6000)
    parser.add_argument("--every", type=int, default=250, help="sample RSS every N requests")
    parser.add_argument("--warmup", type=int, default=1000, help="requests before the growth is measured")
    parser.add_argument("--clients", type=int, default=4, help="concurrent keep-alive connections")
    parser.add_argument("--min-turns", type=int, default=3)
    parser.add_argument("--max-turns", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--body", type=Path, default=overhead.BODY_FILE)
    parser.add_argument("--record", action="store_true", help="append the table to bench/RESULTS.md (## Soak)")
    args = parser.parse_args()
    overhead.LOAD_AT_START = os.getloadavg()[0]
    table = run(args)
    print(table)
    if args.record:
        overhead.record(table, section="Soak", script="soak.py")


if __name__ == "__main__":
    main()
