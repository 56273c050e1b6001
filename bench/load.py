"""Load through one lynkr proxy: N concurrent streaming sessions, worst event-loop lag, memory, rows.

    python bench/load.py [--quick] [--sessions 8 32 128] [--seconds S] [--record]

The proxy runs as ``lynkr run`` runs it (Hypercorn on its own thread and loop, the real SQLite ledger
in a temporary LYNKR_HOME); the instant fake upstream (``instant_upstream.py``) and the clients (a
minimal keep-alive HTTP/1.1 client, one connection per session, the real ~77 KB Claude Code body) run
in their own processes, so the proxy's loop is the only thing measured. A probe task on the proxy's
loop sleeps 5 ms at a time and records how late it wakes up: that is the event-loop lag any request
would see. After each level the ledger must hold exactly as many rows as requests completed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

import overhead  # noqa: E402  (the client, the upstream launcher and the RESULTS.md writer)


def client_main(url: str, sessions: int, seconds: float) -> None:
    """Client process: ``sessions`` connections streaming back to back; prints JSON figures."""
    body = json.dumps(dict(json.loads(overhead.BODY_FILE.read_bytes()), stream=True), separators=(",", ":")).encode()
    target = overhead.Target("lynkr", url)
    host, port, path = target.host_port_path
    latencies: list[float] = []
    errors = 0

    async def session() -> None:
        nonlocal errors
        conn = overhead.Connection(host, port)
        stop = time.perf_counter() + seconds
        while time.perf_counter() < stop:
            try:
                _, total, _ = await conn.post(path, body)
                latencies.append(total * 1000)
            except Exception:  # noqa: BLE001 - counted and reported
                errors += 1
                conn.close()
        conn.close()

    async def run() -> None:
        await asyncio.gather(*(session() for _ in range(sessions)))

    started = time.perf_counter()
    asyncio.run(run())
    elapsed = time.perf_counter() - started
    print(json.dumps({"done": len(latencies), "errors": errors, "elapsed": elapsed,
                      "p50": overhead.pct(latencies, 50) if latencies else None,
                      "p99": overhead.pct(latencies, 99) if latencies else None}))


class LagProbe:
    """Sleeps ``interval`` on the proxy's loop over and over; keeps how late each wake-up was (ms)."""

    def __init__(self, interval: float = 0.005) -> None:
        self.interval = interval
        self.lags: list[float] = []
        self._task: asyncio.Task | None = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            start = loop.time()
            await asyncio.sleep(self.interval)
            self.lags.append(max(0.0, (loop.time() - start - self.interval) * 1000))

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        async def create() -> None:
            self._task = asyncio.ensure_future(self._run())

        asyncio.run_coroutine_threadsafe(create(), loop).result(5)

    def take(self) -> list[float]:
        lags, self.lags = self.lags, []
        return lags


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(args: argparse.Namespace) -> str:
    from lynkr_cli.ledger import Ledger, LedgerReader, SessionRecord
    from lynkr_cli.proxy.app import create_app
    from lynkr_cli.proxy.context import ProxyContext
    from lynkr_cli.proxy.server import ProxyServer, bind_socket

    home = Path(tempfile.mkdtemp(prefix="lynkr-load-"))
    rows_out = []
    with overhead.start_upstream() as upstream:
        ledger = Ledger(home / "ledger.sqlite3")
        ledger.start_session(SessionRecord(id="load", agent="bench", argv=[], cwd=".", started_at=time.time(),
                                           pid=os.getpid(), lynkr_version="bench"))
        ctx = ProxyContext(session_id="load", anthropic_upstream=upstream.url, ledger=ledger, token="bench")
        server = ProxyServer(bind_socket(), lambda: create_app(ctx))
        server.start()
        assert server.wait_serving(30), server.error
        probe = LagProbe()
        probe.start(server._loop)  # type: ignore[arg-type]
        url = f"{server.url}/s/bench"
        recorded = 0
        rss_start = rss_mb()
        try:
            for sessions in args.sessions:
                probe.take()
                out = subprocess.run([sys.executable, __file__, "--client", url, str(sessions), str(args.seconds)],
                                     capture_output=True, text=True, timeout=args.seconds * 4 + 120)
                if out.returncode != 0:
                    raise RuntimeError(out.stderr)
                figures = json.loads(out.stdout)
                lags = probe.take()
                ledger.flush()
                reader = LedgerReader(home / "ledger.sqlite3")
                total_rows = len(reader.requests("load"))
                reader.close()
                new_rows = total_rows - recorded
                recorded = total_rows
                rows_out.append((sessions, figures, lags, new_rows, rss_mb()))
        finally:
            server.stop()
            ledger.finish_session("load", 0)
            ledger.close()
    lines = [f"body: {overhead.BODY_FILE.stat().st_size} bytes, streaming; {args.seconds:g} s per level; "
             f"proxy RSS at start {rss_start:.0f} MB (this process: proxy + ledger writer)", "",
             "| sessions | requests | errors | req/s | p50 ms | p99 ms | loop lag p99 ms | loop lag max ms "
             "| ledger rows = requests | RSS MB after |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|"]
    for sessions, f, lags, new_rows, rss in rows_out:
        ok = "yes" if new_rows == f["done"] + f["errors"] or new_rows == f["done"] else f"NO ({new_rows})"
        lines.append(f"| {sessions} | {f['done']} | {f['errors']} | {f['done'] / f['elapsed']:.0f} | "
                     f"{f['p50']:.1f} | {f['p99']:.1f} | {overhead.pct(lags, 99):.1f} | {max(lags):.1f} | {ok} | "
                     f"{rss:.0f} |")
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--client":
        client_main(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--sessions", type=int, nargs="+", default=[8, 32, 128])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--record", action="store_true", help="add the table to bench/RESULTS.md")
    args = parser.parse_args()
    if args.quick:
        args.sessions, args.seconds = [4, 16], 2.0
    overhead.LOAD_AT_START = os.getloadavg()[0]
    table = run(args)
    print(table)
    if args.record:
        overhead.record(table, "Load", "load.py")


if __name__ == "__main__":
    main()
